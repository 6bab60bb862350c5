"""AWS CLI v1 plugin: the configured endpoint URL wins over the CLI's fixed endpoints.

AWS CLI v1 sends a few services (sqs, rds, ... in some regions) to a fixed legacy endpoint unless
`--endpoint-url` is on the command line (awscli/customizations/overridesslcommonname.py), so
AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE> and a profile's `endpoint_url` are ignored for them
(aws/aws-cli#8737). Enable it in the config file:

    [plugins]
    profile_endpoint = awscli_profile_endpoint

With it, those commands use the endpoint that botocore would have chosen from the environment or
the profile, in botocore's order (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's
`endpoint_url`; `[services]` sections are not read); an explicit `--endpoint-url` still wins, and
AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true turns it off.
"""

from __future__ import annotations

import os
from typing import Any


def awscli_initialize(cli: Any) -> None:
    # Plugins load before the CLI's own handlers, and the fixed-endpoint handler is registered last.
    cli.register("before-building-argument-table-parser", use_configured_endpoint)


def use_configured_endpoint(session: Any, parsed_globals: Any, **_: Any) -> None:
    from awscli.customizations.overridesslcommonname import SSL_COMMON_NAMES

    service = parsed_globals.command
    if service not in SSL_COMMON_NAMES or parsed_globals.endpoint_url is not None:
        return
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return
    configured = configured_endpoint(service, os.environ, session.get_scoped_config())
    if configured:
        parsed_globals.endpoint_url = configured


def configured_endpoint(service: str, environ: Any, profile: dict[str, Any]) -> str | None:
    """botocore's order: service variable, global variable, then the profile's endpoint_url."""
    variable = f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}"
    found = environ.get(variable) or environ.get("AWS_ENDPOINT_URL") or profile.get("endpoint_url")
    return str(found) if found else None
