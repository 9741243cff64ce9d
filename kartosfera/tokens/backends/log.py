"""Confirms every command at once and writes it to the log: the demo's and development's token service.

There is no wallet behind it: the demo's tokens exist only in Kartosfera, so "the provider
confirmed" is true by construction. The log line names the token reference and the command,
nothing else (a token reference is no card number).
"""

from __future__ import annotations

import logging

from kartosfera.tokens.backends import BaseTokenServiceBackend, TokenServiceRequest

logger = logging.getLogger("kartosfera.tokens.service")


class TokenServiceBackend(BaseTokenServiceBackend):
    def send(self, request: TokenServiceRequest) -> str:
        logger.info(
            "token service command",
            extra={
                "token_reference": request.token_reference,
                "command": request.command,
                "reference": request.reference,
            },
        )
        return f"log-{request.reference}"
