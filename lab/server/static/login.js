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
    const next = new URLSearchParams(location.search).get("next") || "/";
    location.assign(next.startsWith("/") && !next.startsWith("//") ? next : "/");
  } else {
    const body = await response.json().catch(() => ({}));
    document.getElementById("error").textContent = body.detail || `login failed (${response.status})`;
  }
});
