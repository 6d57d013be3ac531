"""The FastAPI application of the lab server: the API, the dashboard pages, the docs.

Nothing here is served from the internet: the dashboard's JavaScript, the plotting library
(plotly.js, from the installed ``plotly`` package) and the API docs (Swagger UI, from the
``fastapi_offline`` package's assets) all come from this process.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import fastapi_offline
import plotly
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from lab.errors import LabError
from lab.server._audit import AuditMiddleware
from lab.server._auth import CSRF_HEADER, Principal, require
from lab.server._headers import SecurityHeaders
from lab.server._lab_process import LabServer
from lab.server._limits import BodyLimit
from lab.server._pages import pages
from lab.server._routes import router

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"


def create_app(server: LabServer, on_closed: Callable[[], None] | None = None) -> FastAPI:
    """The app for ``server``; its lifespan starts the monitor and, at shutdown, closes the
    lab (campaigns end, the station goes safe, devices disconnect, the store closes), then
    calls ``on_closed``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        server.publisher.bind(asyncio.get_running_loop())
        server.start()
        try:
            yield
        finally:
            await asyncio.to_thread(server.close)
            if on_closed is not None:
                on_closed()

    app = FastAPI(
        title=f"SDL lab server: {server.config.name}",
        description="Run control, campaigns, approvals and live state of one lab.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )
    app.state.lab_server = server
    app.state.auth = server.auth
    app.add_middleware(BodyLimit)  # inside the audit: a refused body is logged, not stored
    app.add_middleware(AuditMiddleware, log=server.store.audit, identify=server.auth.principal)
    app.add_middleware(SecurityHeaders)
    _error_handlers(app)
    app.include_router(router)
    app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/vendor/plotly", StaticFiles(directory=_plotly_dir()), name="plotly")
    swagger = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/vendor/swagger", StaticFiles(directory=swagger), name="swagger")
    _docs(app)
    return app


def _plotly_dir() -> Path:
    return Path(plotly.__file__).parent / "package_data"


def _docs(app: FastAPI) -> None:
    """OpenAPI at ``/docs``, behind the login like everything else."""
    viewer = Depends(require("viewer"))

    @app.get("/openapi.json", include_in_schema=False, dependencies=[viewer])
    def openapi() -> dict[str, Any]:
        schema = app.openapi()
        # a script's token (POST /api/auth/token, lab remote login) goes under "Authorize"
        schemes = schema.setdefault("components", {}).setdefault("securitySchemes", {})
        schemes["token"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "a token from POST /api/auth/token (or `lab remote login`); "
            "in the logged-in browser the session cookie is used without one",
        }
        schema["security"] = [{"token": []}, {}]
        return schema

    @app.get("/docs", include_in_schema=False)
    def docs(principal: Annotated[Principal, Depends(require("viewer"))]) -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title=app.title,
            swagger_js_url="/vendor/swagger/swagger-ui-bundle.js",
            swagger_css_url="/vendor/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"persistAuthorization": False},
        )
        # "Try it out" from the logged-in page sends the session's CSRF token, as the
        # dashboard does; a token pasted under Authorize is sent as a bearer instead
        html = (
            bytes(page.body)
            .decode()
            .replace(
                "const ui = SwaggerUIBundle({",
                "const ui = SwaggerUIBundle({\nrequestInterceptor: (req) => "
                f"{{ req.headers[{json.dumps(CSRF_HEADER)}] = {json.dumps(principal.csrf or '')}; "
                "return req; },",
                1,
            )
        )
        return HTMLResponse(html)


def _refusal(
    request: Request, status: int, detail: Any, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    request.state.error = detail if isinstance(detail, str) else str(detail)
    return JSONResponse({"detail": detail}, status_code=status, headers=dict(headers or {}))


def _error_handlers(app: FastAPI) -> None:
    """Bad requests and refused actions: a 4xx naming the field or the state."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Response:
        if err.status_code == 401 and request.url.path == "/docs":  # a page: to the login
            request.state.error = str(err.detail)
            return RedirectResponse("/login?next=/docs", status_code=303)
        return _refusal(request, err.status_code, err.detail, err.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, err: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
        return _refusal(request, 422, "; ".join(problems))

    @app.exception_handler(LabError)
    async def refused(request: Request, err: LabError) -> JSONResponse:
        return _refusal(request, err.status, str(err))
