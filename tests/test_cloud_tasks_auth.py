"""Cloud Tasks and the server's own token (``--auth-token``): REST is covered by the app-wide
check (``Authorization: Bearer``), gRPC checks the ``authorization`` metadata against the same
token; without a token on the server, any bearer token a client sends is accepted."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.api_core import exceptions
from google.auth import exceptions as auth_exceptions
from google.cloud import tasks_v2beta2
from google.cloud.tasks_v2beta2.services.cloud_tasks.transports import CloudTasksGrpcTransport
from google.oauth2.credentials import Credentials

from emulator.app import runtime_app
from emulator.faces.cloud_tasks.grpc_server import CloudTasksGrpcServer, token_check
from emulator.server import ServerThread
from emulator.wiring import build_runtime
from tests.cloud_tasks_support import GRPC_OPTS, make_client
from tests.shim_support import PULL, LiveServer, write_queue_yaml

pytestmark = pytest.mark.e2e
TOKEN = "ct-s3cret"
QUEUE = f"projects/p/locations/l/queues/{PULL}"


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A server requiring TOKEN: (REST address, gRPC address)."""
    runtime = build_runtime(str(write_queue_yaml(tmp_path_factory.mktemp("auth"))), ":memory:")
    http = ServerThread(runtime_app(runtime, auth_token=TOKEN)).start()
    grpc_server = CloudTasksGrpcServer(runtime.service, authorize=token_check(TOKEN)).start()
    try:
        yield http.address, grpc_server.address
    finally:
        grpc_server.stop()
        http.stop()
        runtime.close()


def rest_client(address: str, token: str) -> tasks_v2beta2.CloudTasksClient:
    return tasks_v2beta2.CloudTasksClient(
        transport="rest",
        credentials=Credentials(token=token),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": f"http://{address}"},
    )


def test_grpc_needs_the_token_in_the_metadata(guarded: tuple[str, str]) -> None:
    rest, address = guarded
    client = make_client("v2beta2", "grpc", rest, address)

    with pytest.raises(exceptions.Unauthenticated, match="requires a token"):
        client.get_queue(name=QUEUE)
    with pytest.raises(exceptions.Unauthenticated):
        client.get_queue(name=QUEUE, metadata=[("authorization", "Bearer wrong")])
    queue = client.get_queue(name=QUEUE, metadata=[("authorization", f"Bearer {TOKEN}")])
    assert queue.name == QUEUE


def test_a_channel_can_send_the_token_on_every_call(guarded: tuple[str, str]) -> None:
    class Token(grpc.UnaryUnaryClientInterceptor):
        def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]
            metadata = [*(details.metadata or ()), ("authorization", f"Bearer {TOKEN}")]
            return continuation(details._replace(metadata=metadata), request)

    channel = grpc.intercept_channel(grpc.insecure_channel(guarded[1], options=GRPC_OPTS), Token())
    client = tasks_v2beta2.CloudTasksClient(transport=CloudTasksGrpcTransport(channel=channel))
    assert client.get_queue(name=QUEUE).name == QUEUE


def test_rest_needs_the_token_as_a_bearer(guarded: tuple[str, str]) -> None:
    rest, address = guarded

    # A 401 makes google-auth's session try to refresh the credentials, which anonymous or
    # bare-token credentials cannot: the client raises google-auth's error, as against Google.
    with pytest.raises(auth_exceptions.GoogleAuthError):
        make_client("v2beta2", "rest", rest, address).get_queue(name=QUEUE)
    with pytest.raises(auth_exceptions.GoogleAuthError):
        rest_client(rest, "wrong").get_queue(name=QUEUE)
    assert rest_client(rest, TOKEN).get_queue(name=QUEUE).name == QUEUE


def test_without_a_server_token_any_bearer_is_accepted(
    server: LiveServer, cloud_tasks_grpc: CloudTasksGrpcServer
) -> None:
    assert rest_client(server.address, "any-token").get_queue(name=QUEUE).name == QUEUE
    client = make_client("v2beta2", "grpc", server.address, cloud_tasks_grpc.address)
    metadata = [("authorization", "Bearer any-token")]
    assert client.get_queue(name=QUEUE, metadata=metadata).name == QUEUE
