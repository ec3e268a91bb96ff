"""EPCIS 2.0: capture documents, and query our events and captured ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Response, current_app, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.views import MethodView

from trace.api import auth
from trace.api.core import ApiBlueprint
from trace.api.epcis import schemas
from trace.api.exports.routes import HEADERS as MANIFEST_HEADERS
from trace.api.exports.routes import manifest_headers
from trace.config import ConfigError
from trace.db import get_session
from trace.epcis import DEFAULT_CONTEXT, DEFAULT_SCHEMA_PATH, load_schema
from trace.models.tokens import Scope
from trace.services.epcis_query import EventPage, EventQuery, query_events
from trace.services.epcis_store import capture
from trace.services.exports import record_manifest

blp = ApiBlueprint(
    "epcis", __name__, url_prefix="/api/v1/epcis", description="EPCIS 2.0 capture and query."
)
LD_JSON = "application/ld+json"
QUERY_DOCUMENT_DOC = {
    "responses": {
        "200": {
            "description": "A page of events: JSON by default, or an EPCIS 2.0 query document "
            "with `Accept: application/ld+json` (the next page is then in the `Link` header).",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/EventPage"}},
                LD_JSON: {
                    "schema": {
                        "type": "object",
                        "required": ["@context", "type", "schemaVersion", "epcisBody"],
                        "description": "An EPCIS 2.0 EPCISQueryDocument; as an export it has "
                        "a manifest (headers), anchored in the next round.",
                    }
                },
            },
            "headers": MANIFEST_HEADERS,
        }
    }
}


@blp.route("/capture")
class Capture(MethodView):
    @auth.requires(blp, Scope.CAPTURE)
    @auth.errors(blp, 400, "The document is invalid (`errors` lists why); nothing was stored.")
    @auth.errors(blp, 422)
    @blp.arguments(schemas.EpcisDocumentSchema)
    @blp.response(201, schemas.CaptureSchema)
    def post(self, _body: dict[str, Any]) -> dict[str, Any]:
        """Capture an EPCIS 2.0 document or event; events are stored once by event hash ID."""
        document = request.get_json()
        result = capture(get_session(), auth.actor(), document, schema_path())
        return {
            "captured": len(result.hash_ids),
            "new": result.new,
            "errors_declared": result.errors_declared,
            "schema_validated": True,  # always: a capture is never stored unvalidated
            "event_ids": result.hash_ids,
            "lots": result.lots,
        }


@blp.route("/events")
class Events(MethodView):
    @auth.requires(blp, Scope.READ)
    @auth.errors(blp, 422)
    @blp.arguments(schemas.EventQueryArgsSchema, location="query")
    @blp.response(200, schemas.EventPageSchema)
    @blp.doc(**QUERY_DOCUMENT_DOC)
    def get(self, args: dict[str, Any]) -> Any:
        """Query EPCIS events: ours (from the registry) and captured ones, oldest first."""
        page = query_events(get_session(), auth.actor(), event_query(args))
        following = next_url(page, args)
        if request.accept_mimetypes.best_match(["application/json", LD_JSON]) == LD_JSON:
            return query_document(page, following)
        return {
            "items": page.events,
            "per_page": args["perPage"],
            "next_page_token": page.next_page_token,
            "next": following,
        }


def event_query(args: dict[str, Any]) -> EventQuery:
    """The service's query from the parsed parameters."""
    return EventQuery(
        event_types=args.get("eventType", []),
        ge_event_time=args.get("GE_eventTime"),
        lt_event_time=args.get("LT_eventTime"),
        biz_steps=args.get("EQ_bizStep", []),
        dispositions=args.get("EQ_disposition", []),
        biz_locations=args.get("EQ_bizLocation", []),
        epcs=args.get("MATCH_epc", []),
        any_epcs=args.get("MATCH_anyEPC", []),
        epc_classes=args.get("MATCH_epcClass", []),
        lot_id=args.get("lot_id"),
        per_page=args["perPage"],
        next_page_token=args.get("nextPageToken"),
    )


def next_url(page: EventPage, args: dict[str, Any]) -> str | None:
    """The URL of the next page: the same query with the next page token."""
    if page.next_page_token is None:
        return None
    query: dict[str, Any] = request.args.to_dict(flat=False)
    query["nextPageToken"] = [page.next_page_token]
    return url_for("epcis.Events", _external=True, **query)


def query_document(page: EventPage, following: str | None) -> Response:
    """The page as an EPCIS 2.0 query document (events keep their own ``@context``), an
    export whose manifest is recorded and anchored like the FSMA sheets'."""
    document = {
        "@context": DEFAULT_CONTEXT,
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "epcisBody": {
            "queryResults": {
                "queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": page.events},
            }
        },
    }
    data = json.dumps(document).encode()
    parameters = request.args.to_dict(flat=False)
    manifest = record_manifest(
        get_session(), auth.actor(), "epcis.query", parameters, data, len(page.events)
    )
    response = Response(data, content_type=LD_JSON)
    response.headers.update(manifest_headers(manifest.id, manifest.sha256))  # type: ignore[arg-type]
    if following:
        response.headers["Link"] = f'<{following}>; rel="next"'
    return response


def schema_path() -> Path:
    """The EPCIS JSON schema captures are validated against (``EPCIS_SCHEMA_PATH``, or the
    one shipped in the package); :func:`_load_the_schema_at_start` checked it loads."""
    return Path(current_app.config.get("EPCIS_SCHEMA_PATH") or DEFAULT_SCHEMA_PATH)


@blp.record_once
def _load_the_schema_at_start(state: BlueprintSetupState) -> None:
    """Capture never runs unvalidated: without a schema that loads, the app does not start."""
    configured = state.app.config.get("EPCIS_SCHEMA_PATH") or DEFAULT_SCHEMA_PATH
    try:
        load_schema(configured)
    except (OSError, ValueError) as error:
        raise ConfigError(
            f"EPCIS capture cannot validate documents: {error}. The EPCIS 2.0 JSON schema "
            "ships in trace/epcis/schema/: restore it from the repository."
        ) from error
