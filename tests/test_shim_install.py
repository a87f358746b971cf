"""``shims.install()`` / ``uninstall()``: Google's module names in ``sys.modules``, next to
``google.protobuf`` and ``google.cloud``, with and without Google's SDK installed.

Most cases run in a fresh interpreter so that what is already imported is known exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import pytest

import shims
import shims.sdk
from shims import backends

ROOT = Path(__file__).resolve().parent.parent

#: Makes Google's SDK unimportable (as if appengine-python-standard were not installed).
HIDE_SDK = """
import importlib.abc, sys
class HideSdk(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "google.appengine" or name.startswith("google.appengine."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, HideSdk())
"""


def run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != backends.ENV_HOST}
    environment.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout, result.stdout + result.stderr


@pytest.mark.e2e
def test_install_maps_googles_names_to_the_shim() -> None:
    assert_ok(
        run_python("""
        import sys, warnings
        warnings.simplefilter("error")
        import shims
        shims.install()
        from google.appengine.api import taskqueue
        from google.appengine.api.taskqueue import taskqueue as submodule
        from google.appengine.runtime import apiproxy_errors
        import google.appengine.api.taskqueue as dotted
        import shims.taskqueue, shims.apiproxy_errors
        assert taskqueue is shims.taskqueue is dotted
        assert submodule is shims.taskqueue.taskqueue
        assert apiproxy_errors is shims.apiproxy_errors
        assert taskqueue.Queue is submodule.Queue
        q = taskqueue.Queue()
        q.add(taskqueue.Task(payload="x", name="one"))
        assert taskqueue.QueueStatistics.fetch("default").tasks == 1
        print("OK")
        """)
    )


@pytest.mark.e2e
def test_google_stays_a_namespace_package_shared_with_protobuf_and_cloud() -> None:
    assert_ok(
        run_python("""
        import google
        before = list(google.__path__)
        import shims
        shims.install()
        import google.protobuf, google.cloud.tasks_v2
        from google.protobuf import descriptor_pb2
        from google.appengine.api import taskqueue
        assert list(google.__path__) == before
        assert google.protobuf.__name__ == "google.protobuf"
        shims.uninstall()
        import google.protobuf.json_format
        print("OK")
        """)
    )


@pytest.mark.e2e
def test_uninstall_restores_googles_sdk() -> None:
    assert_ok(
        run_python("""
        import sys, shims
        shims.install()
        from google.appengine.api import taskqueue as ours
        shims.uninstall()
        assert "google.appengine.api.taskqueue" not in sys.modules
        from google.appengine.api import taskqueue as theirs
        assert theirs is not ours and theirs.__file__.endswith("taskqueue/__init__.py")
        assert "site-packages" in theirs.__file__ or "dist-packages" in theirs.__file__
        shims.uninstall()  # a no-op
        print("OK")
        """)
    )


@pytest.mark.e2e
def test_sdk_imported_first_is_replaced_with_a_warning() -> None:
    result = run_python("""
        import warnings
        from google.appengine.api import taskqueue as theirs
        import shims
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            shims.install()
        [warning] = caught
        assert warning.category is RuntimeWarning
        print(warning.message)
        from google.appengine.api import taskqueue as ours
        assert ours is not theirs and ours.__name__ == "shims.taskqueue"
        shims.uninstall()
        from google.appengine.api import taskqueue as again
        assert again is theirs
        print("OK")
        """)
    assert_ok(result)
    assert "google.appengine.api.taskqueue" in result.stdout
    assert "google.appengine.runtime.apiproxy_errors" in result.stdout
    assert "keeps using Google's SDK" in result.stdout


@pytest.mark.e2e
def test_without_the_sdk_the_parent_packages_are_stand_ins() -> None:
    assert_ok(
        run_python(
            HIDE_SDK
            + """
import sys, shims
try:
    import google.appengine
except ModuleNotFoundError:
    pass
else:
    raise AssertionError("the SDK should be hidden")
shims.install()
from google.appengine.api import taskqueue
from google.appengine.runtime import apiproxy_errors, DeadlineExceededError
import google.appengine.api.taskqueue.taskqueue
assert issubclass(DeadlineExceededError, BaseException)
assert not issubclass(DeadlineExceededError, Exception)
import google.protobuf
shims.uninstall()
assert not any(m.startswith("google.appengine") for m in sys.modules)
import google
assert not hasattr(google, "appengine")
print("OK")
"""
        )
    )


@pytest.mark.e2e
def test_install_is_idempotent_and_reports_its_state() -> None:
    assert_ok(
        run_python("""
        import shims
        assert not shims.is_installed()
        shims.install()
        shims.install(storage=":memory:")
        assert shims.is_installed()
        shims.uninstall()
        assert not shims.is_installed()
        print("OK")
        """)
    )


@pytest.mark.e2e
def test_queue_yaml_comes_from_the_argument_or_the_environment(tmp_path: Path) -> None:
    from_env = tmp_path / "env.yaml"
    from_env.write_text("queue:\n- name: from-env\n  mode: pull\n")
    from_arg = tmp_path / "arg.yaml"
    from_arg.write_text("queue:\n- name: from-arg\n  mode: pull\n")
    code = """
        import sys, shims
        shims.install(sys.argv[1] if len(sys.argv) > 1 else None)
        from google.appengine.api import taskqueue
        for name in ("from-env", "from-arg"):
            try:
                taskqueue.Queue(name).lease_tasks(1, 1)
                print("known:", name)
            except taskqueue.UnknownQueueError:
                print("unknown:", name)
        print("OK")
        """
    result = run_python(code, TASKQUEUE_EMULATOR_QUEUE_YAML=str(from_env))
    assert_ok(result)
    assert "known: from-env" in result.stdout and "unknown: from-arg" in result.stdout
    result = run_python(
        code.replace("len(sys.argv) > 1", "True").replace("sys.argv[1]", repr(str(from_arg))),
        TASKQUEUE_EMULATOR_QUEUE_YAML=str(from_env),
    )
    assert_ok(result)
    assert "unknown: from-env" in result.stdout and "known: from-arg" in result.stdout


def test_use_sdk_needs_the_emulator_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(backends.ENV_HOST, raising=False)
    with pytest.raises(RuntimeError, match="TASKQUEUE_EMULATOR_HOST"):
        shims.install(use_sdk=True)


def test_use_sdk_registers_googles_sdk_with_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str | None] = []
    fake = types.ModuleType("shims.sdk.stub")
    monkeypatch.setattr(fake, "register_sdk_stub", calls.append, raising=False)
    monkeypatch.setitem(sys.modules, "shims.sdk.stub", fake)
    monkeypatch.setattr(shims.sdk, "stub", fake, raising=False)
    monkeypatch.setenv(backends.ENV_HOST, "127.0.0.1:9")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shims.install(use_sdk=True)
    assert calls == ["127.0.0.1:9"]
    assert not shims.is_installed()
    assert (
        sys.modules["google.appengine.api.taskqueue"].__name__ == "google.appengine.api.taskqueue"
    )


@pytest.mark.e2e
def test_use_sdk_without_the_sdk_says_what_to_install() -> None:
    result = run_python(
        HIDE_SDK
        + """
import shims
try:
    shims.install(use_sdk=True)
except ImportError as exc:
    print(exc)
    print("OK")
""",
        TASKQUEUE_EMULATOR_HOST="127.0.0.1:9",
    )
    assert_ok(result)
    assert "pip install appengine-python-standard" in result.stdout


@pytest.mark.e2e
def test_googles_other_taskqueue_modules_import_with_the_shim_installed() -> None:
    """Every import path of Google's SDK into ``google.appengine.api.taskqueue.*``."""
    assert_ok(
        run_python("""
        import warnings
        warnings.simplefilter("error", RuntimeWarning)
        import shims
        shims.install()
        from google.appengine.api import taskqueue
        assert taskqueue.__name__ == "shims.taskqueue"
        from google.appengine.api.taskqueue import taskqueue_service_bytes_pb2
        import google.appengine.api.taskqueue.taskqueue_stub as stub_module
        from google.appengine.api.taskqueue import cloudtask, cloudtask_transactional
        from google.appengine.api import queueinfo
        from google.appengine.datastore import datastore_stub_util
        from google.appengine.ext import testbed, deferred, ndb
        from google.appengine.runtime import middlewares
        assert stub_module.taskqueue is taskqueue.taskqueue
        assert taskqueue_service_bytes_pb2.__name__ == (
            "google.appengine.api.taskqueue.taskqueue_service_bytes_pb2"
        )
        try:
            from google.appengine.api.taskqueue import no_such_module
        except ImportError:
            pass
        else:
            raise AssertionError("a name Google's package lacks must not import")
        shims.uninstall()
        from google.appengine.api import taskqueue as google_taskqueue
        from google.appengine.api.taskqueue import taskqueue_stub
        assert google_taskqueue.__name__ == "google.appengine.api.taskqueue"
        assert taskqueue_stub.taskqueue.__name__ == "google.appengine.api.taskqueue.taskqueue"
        assert not hasattr(taskqueue, "taskqueue_stub")
        print("OK")
        """)
    )


@pytest.mark.e2e
def test_testbed_ndb_memcache_and_the_shim_in_one_process(tmp_path: Path) -> None:
    """A legacy suite: testbed for datastore and memcache, the shim for the task queue."""
    (tmp_path / "queue.yaml").write_text("queue:\n- name: pull-q\n  mode: pull\n")
    assert_ok(
        run_python(
            f"""
        import shims
        shims.install(queue_yaml={str(tmp_path / "queue.yaml")!r})
        from google.appengine.api import memcache, taskqueue
        from google.appengine.ext import deferred, ndb, testbed

        class Counter(ndb.Model):
            count = ndb.IntegerProperty(default=0)

        bed = testbed.Testbed()
        bed.activate()
        bed.init_datastore_v3_stub()
        bed.init_memcache_stub()
        ndb.get_context().clear_cache()
        key = Counter(id="a", count=2).put()
        assert key.get().count == 2
        memcache.set("k", "v")
        assert memcache.get("k") == "v"

        queue = taskqueue.Queue("pull-q")
        queue.add(taskqueue.Task(payload="x", method="PULL", tag="t"))
        [task] = queue.lease_tasks_by_tag(60, 10)
        assert task.payload == b"x" and task.tag == "t"
        queue.delete_tasks(task)
        deferred.defer(print, "deferred")  # a push task on the default queue, via the shim
        assert taskqueue.QueueStatistics.fetch("default").tasks == 1
        bed.deactivate()
        print("OK")
        """
        )
    )
