"""The test layout keeps its promise: unit tests cannot reach the network."""

from __future__ import annotations

import socket

import pytest


def test_a_unit_test_cannot_connect() -> None:
    with socket.socket() as client, pytest.raises(AssertionError, match="tests/integration"):
        client.connect(("127.0.0.1", 9))


def test_a_unit_test_cannot_listen() -> None:
    with socket.socket() as listener, pytest.raises(AssertionError, match="opened a socket"):
        listener.bind(("127.0.0.1", 0))
