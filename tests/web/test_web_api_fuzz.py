"""schemathesis against the OpenAPI document: whatever a client sends to any operation of the API, signed in
as a supervisor with a valid CSRF token, the application never answers with a server error.

(schemathesis's pytest plugin does not run under this pytest; its strategies are driven with hypothesis here.)
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from webkit import Site, module_site, store  # noqa: F401  (fixtures)


def test_the_api_never_answers_with_a_server_error(module_site: Site) -> None:  # noqa: F811
    site = module_site
    site.client("analyst").post("/api/v1/cases", json={"title": "fuzz", "ocid": site.org_ocid, "recommendation": "r"})
    supervisor = site.client("supervisor")
    headers = {"Cookie": f"aiqyn_session={supervisor.http.cookies['aiqyn_session']}", "X-CSRF-Token": supervisor.csrf}
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", site.app)
    failures: list[str] = []
    tested = []
    statuses: set[int] = set()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/v1/logout":
            continue  # it would only end the session the other calls use

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(headers=headers)
            statuses.add(response.status_code)
            case.validate_response(response, checks=[not_a_server_error])

        try:
            check()
        except Exception as exc:
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}"[:2000])
        tested.append(operation.path)
    assert len(tested) >= 20
    assert {200, 201, 404, 422} <= statuses, statuses  # the calls reached the application, valid and not
    assert not failures, "\n\n".join(failures)
