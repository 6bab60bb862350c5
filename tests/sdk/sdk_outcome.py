"""What every scenario prints: one JSON object, the SDK's answer or the AWS error it raised."""

import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError


def report(scenario: Callable[[], Any]) -> None:
    # The SDKs print their own notices (config files, deprecation) to stdout: keep them apart.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            answer = scenario()
        except ClientError as error:
            answer = {"error": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
    json.dump(answer, sys.stdout, default=str)
