"""The shape of the HTTP layer (issue #12, item 6): routers per resource, no import cycles inside ``api``,
state reached only through dependencies, a response model on every JSON route, the typed classify body."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from fastapi.datastructures import DefaultPlaceholder
from fastapi.routing import APIRoute
from helpers.api import make_settings

from voc_api.app import create_app
from voc_api.routers import ROUTERS

API = Path(__file__).resolve().parents[1] / "api"


def _module(path: Path) -> str:
    parts = ("voc_api", *path.relative_to(API).with_suffix("").parts)  # api/ is installed as voc_api
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    """api module → the api modules it imports anywhere (function-level imports included)."""
    modules = {_module(p): p for p in API.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "voc_api":
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules)
            elif isinstance(node, ast.Import):
                deps.update(a.name for a in node.names if a.name.split(".")[0] == "voc_api")
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def test_api_modules_import_no_cycles() -> None:
    graph = _import_graph()
    assert graph["voc_api.keys"] and "voc_api.auth" not in graph["voc_api.keys"]  # the old auth ↔ keys knot
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        if node in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(node):], node]))
        if node in done:
            return
        for dep in sorted(graph[node]):
            visit(dep, [*path, node])
        done.add(node)

    for module in sorted(graph):
        visit(module, [])


def test_only_the_state_dependency_reads_app_state() -> None:
    readers = set()
    for path in API.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "state" and isinstance(node.value, ast.Attribute) \
                    and node.value.attr == "app":
                readers.add(_module(path))
    assert readers == {"voc_api.deps"}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("structure")
    return create_app(make_settings(tmp, tmp / "unused.yaml"), pipeline_factory=lambda _s: None,
                      start_workers=False, start_sender=False)


def test_routes_come_from_resource_routers_and_declare_response_models(app) -> None:
    routes = [r for router in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    assert {r.endpoint.__module__ for r in routes} == {
        f"voc_api.routers.{name}" for name in ("audit", "batches", "classify", "corrections", "health", "keys",
                                           "results", "ui", "webhooks")}
    for route in routes:
        json_route = route.include_in_schema and isinstance(route.response_class, DefaultPlaceholder)  # UTF-8 JSON
        if json_route and route.status_code != 204:
            assert route.response_model is not None, f"{route.methods} {route.path} has no response model"
    paths = app.openapi()["paths"]
    assert {r.path for r in routes if r.include_in_schema} == set(paths)


def test_openapi_classify_body_is_a_typed_union_and_keys_are_a_security_scheme(app) -> None:
    spec = app.openapi()
    post = spec["paths"]["/v1/classify"]["post"]
    schema = post["requestBody"]["content"]["application/json"]["schema"]
    assert schema["oneOf"] == [{"$ref": "#/components/schemas/ClassifyItem"},
                               {"$ref": "#/components/schemas/ClassifyBatch"}]
    ok = post["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"$ref": "#/components/schemas/ItemResult"} in ok["anyOf"]
    assert post["security"] == [{"apiKey": ["service"]}]  # the role a key needs, as the route's scope
    assert spec["paths"]["/v1/keys"]["get"]["security"] == [{"apiKey": ["admin"]}]
    assert "security" not in spec["paths"]["/healthz"]["get"]
    assert spec["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    assert any(p["name"] == "Idempotency-Key" for p in post["parameters"])


def test_a_principal_holds_its_role_and_the_roles_below_as_scopes() -> None:
    from voc_api.keys import Principal

    assert Principal("k", "service", "").scopes == ("service",)
    assert Principal("k", "analyst", "").scopes == ("service", "analyst")
    assert Principal("k", "admin", "").scopes == ("service", "analyst", "admin")
