"""``shims.backends.http``: the one keep-alive client behind the remote backend and the SDK
stub. Its callers' tests (test_shim_remote.py, test_sdk_stub.py) cover the contract end to
end; these pin down what each failure is before a caller maps it."""

from __future__ import annotations

import pytest

from shims.backends.http import ConnectionFailed, DeadlineExceeded, HttpClient, split_host
from tests.shim_support import free_port, silent_server


@pytest.mark.e2e
def test_a_server_that_is_not_there_cannot_be_reached() -> None:
    client = HttpClient(f"127.0.0.1:{free_port()}")
    with pytest.raises(ConnectionFailed) as failure:
        client.request("GET", "/healthz", None, {}, deadline=2, idempotent=True)
    assert not failure.value.lost
    assert isinstance(failure.value.__cause__, ConnectionRefusedError)


@pytest.mark.e2e
def test_a_server_that_never_answers_runs_out_of_the_deadline() -> None:
    with silent_server() as address:
        client = HttpClient(address)
        with pytest.raises(DeadlineExceeded):
            client.request("GET", "/healthz", None, {}, deadline=0.2, idempotent=True)


def test_addresses() -> None:
    client = HttpClient("http://[::1]:9000/")
    assert (client.host, client.port) == split_host("[::1]:9000") == ("::1", 9000)
    assert (client.address, client.base_url) == ("::1:9000", "http://[::1]:9000")
    assert HttpClient("emulator").port == 8089
