// The login form: a session cookie on success, then back to the page that was asked for.
const form = document.getElementById("login");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  const response = await fetch("/api/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(data),
  });
  if (response.ok) {
    // back to a page of this server only: the URL is parsed as the browser will read it
    // (so "/\\evil.example" is another host), never checked by its first characters
    const next = new URL(new URLSearchParams(location.search).get("next") || "/", location.origin);
    location.assign(next.origin === location.origin ? next.pathname + next.search + next.hash : "/");
  } else {
    const body = await response.json().catch(() => ({}));
    document.getElementById("error").textContent = body.detail || `login failed (${response.status})`;
  }
});
