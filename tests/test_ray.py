"""The Ray executor on a real two-node cluster on this machine (1 CPU per node): a series builds on
both nodes, a warm-cache build writes the local executor's bytes, a voice worker killed mid-build
costs one retry, a task's error fails only its episode, SIGTERM and Ctrl-C end a build through the
CLI with status 130 (143 for SIGTERM), and a node whose raylet is killed mid-build costs only the tasks it held. Its
bookkeeping (dead and joining nodes, hung tasks) and the learned hung-task time-out are tested
without a cluster. Skipped when ray is missing, unless EPISODES_REQUIRE_RAY=1 (CI installs the ray
extra: there a missing ray is a failure)."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pipeline.commands.build import build
from pipeline.errors import PipelineError
from pipeline.execute import MIN_TIMEOUT_S, TASK_TIMEOUT_S, TIMEOUT_FACTOR, HungTimer
from pipeline.execute.ray_executor import Node, RayExecutor, _Actor, _Run, check_voice_fits, one_line
from pipeline.plan import BuildOptions
from pipeline.project import Project
from pipeline.settings import load_voice

from .conftest import TONE_VOICE, episode_text, ffmpeg_ebur128

if os.environ.get("EPISODES_REQUIRE_RAY") == "1":
    import ray
else:
    ray = pytest.importorskip("ray")

DELAY_S = "0.4"
"""Seconds the tone engine sleeps per sentence on the cluster, so a speaking worker can be caught."""


def own_sentences(project: Path) -> None:
    """Give episodes 2 and 3 sentences of their own: ten sentences to speak, not four."""
    for number, slug in ((2, "beta"), (3, "gamma")):
        body = (f"Episode {slug} opens with its own words. It keeps them apart from the others.\n\n"
                f"A {slug} ending comes last, after a pause.")
        (project / "scripts" / "test-series" / f"0{number}-{slug}.md").write_text(episode_text(number, slug, body))


def _workers_see_the_tone_engine() -> tuple[list[str], str | None]:
    from pipeline.engines import registry

    return sorted(registry()), os.environ.get("EPISODES_TONE_DELAY_S")


@pytest.fixture(scope="module")
def cluster(_tone_engine_plugin, tmp_path_factory):
    """A head and one more node (1 CPU each, the second with one GPU), started with the tone engine
    plugin on PYTHONPATH (workers inherit the nodes' environment), a slowed tone engine, and
    `cluster.hang_file` for a test to make a voice actor hang; stopped, every process, at the end."""
    from ray.cluster_utils import Cluster

    hang_file = tmp_path_factory.mktemp("ray-hang") / "hang"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RAY_DISABLE_USAGE_STATS", "1")
        patch.setenv("EPISODES_TONE_DELAY_S", DELAY_S)  # the nodes keep it; this process drops it after
        patch.setenv("EPISODES_TONE_HANG_FILE", str(hang_file))
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
        try:
            cluster.add_node(num_cpus=1, num_gpus=1)  # declared, not real: Ray schedules GPU shares on it
            cluster.wait_for_nodes()
        except BaseException:
            cluster.shutdown()
            raise
    try:
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            engines, delay = ray.get(ray.remote(_workers_see_the_tone_engine).remote())
        finally:
            ray.shutdown()
        assert "tone" in engines and delay == DELAY_S, "Ray workers must see the tone engine plugin and its delay"
        cluster.hang_file = hang_file
        yield cluster
    finally:
        cluster.shutdown()


def ray_build(project: Path, cluster, **options):
    return build(Project(project), [], BuildOptions(executor="ray", ray_address=cluster.address, **options))


def local_build(project: Path, **options):
    options.setdefault("jobs", 1)
    return build(Project(project), [], BuildOptions(**options))


def manifest_entries(project: Path) -> list[dict]:
    return json.loads((project / "out" / "test-series" / "manifest.json").read_text())["episodes"]


def assert_every_episode_passes(report, project: Path) -> None:
    assert not report.failed and not report.failed_gates
    assert [r.status for r in report.results] == ["built"] * 3
    for entry in manifest_entries(project):
        assert entry["gates"] and all(g["passed"] for g in entry["gates"])
        oracle = ffmpeg_ebur128(project / "out" / "test-series" / entry["file"])
        assert oracle["integrated_lufs"] == pytest.approx(-16.0, abs=0.5)
        assert oracle["true_peak_dbtp"] <= -1.0 + 0.05


# -- without a cluster ------------------------------------------------------------------------------


def test_a_missing_ray_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(PipelineError, match=re.escape("pip install -e '.[ray]'")):
        RayExecutor(None)


def test_an_unreachable_cluster_is_named_at_once():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there once closed
    with pytest.raises(PipelineError, match=rf"cannot reach the Ray cluster at {re.escape(address)} "):
        RayExecutor(address)
    assert not ray.is_initialized()


def _voice(folder: Path, gpus: float):
    path = folder / f"v{gpus:g}.yaml"
    path.write_text(f"{TONE_VOICE}gpus: {gpus:g}\n")
    return load_voice(path)


def _node(name: str, cpus: int = 1, gpus: float = 0.0, port: int = 0) -> Node:
    return Node(name * 8, "10.0.0.1", port, cpus, gpus)


def test_a_voice_too_big_for_every_node_is_named(tmp_path):
    nodes = [_node("a", gpus=1.0), _node("b", gpus=0.5)]
    check_voice_fits(_voice(tmp_path, 0), [_node("a")])
    check_voice_fits(_voice(tmp_path, 1), nodes)
    with pytest.raises(PipelineError, match=r"v1\.5\.yaml: the voice `v1\.5` asks for 1\.5 GPUs per worker "
                                            r"\(`gpus:`\), but no node of the Ray cluster has more than 1$"):
        check_voice_fits(_voice(tmp_path, 1.5), nodes)  # 1.5 GPUs in all, but no node holds it


class FakeRay:
    """The calls the executor's bookkeeping makes, recorded; `alive` is what ray.nodes() says."""

    def __init__(self, alive: list[Node]):
        self.alive = alive
        self.cancelled: list[tuple[str, bool]] = []
        self.killed: list[str] = []

    def cancel(self, ref, force):
        self.cancelled.append((ref, force))

    def kill(self, handle, no_restart):
        self.killed.append(handle)

    def nodes(self):
        return [{"NodeID": n.node_id, "Alive": True, "NodeManagerAddress": n.address, "NodeManagerPort": n.port,
                 "Resources": {"CPU": float(n.cpus), "GPU": n.gpus}} for n in self.alive]


def bookkeeping(nodes: list[Node], fixed_timeout_s: float | None = None) -> RayExecutor:
    """A RayExecutor without a cluster: only its bookkeeping is under test."""
    executor = RayExecutor.__new__(RayExecutor)
    executor._ray = FakeRay(nodes)
    executor.timer = HungTimer(fixed_timeout_s)
    executor._nodes = {n.node_id: n for n in nodes}
    executor._gone, executor._notices, executor._actors = set(), [], []
    executor._running, executor._checked = {}, 0.0
    return executor


def test_a_hung_mastering_task_is_cancelled_and_reported_lost():
    executor = bookkeeping([_node("a", cpus=2)], fixed_timeout_s=10.0)
    busy = _Run(8, "a" * 8, "finish", time.monotonic())
    executor._running = {"hung": _Run(7, "a" * 8, "finish", time.monotonic() - 11.0), "busy": busy}
    outcomes = executor._stop_hung()
    assert [(o.task_id, o.lost, o.node_lost, o.detail) for o in outcomes] == [
        (7, True, False, "Ray mastering task gave no answer in 10 s and was stopped")]
    assert executor._ray.cancelled == [("hung", True)]
    assert executor._running == {"busy": busy}


def test_a_dead_node_loses_every_task_it_held_at_once_and_capacity_follows_the_live_cpus(tmp_path):
    a, b = _node("a", cpus=2), _node("b", cpus=1)
    executor = bookkeeping([a, b])
    voice = _voice(tmp_path, 0)
    on_b = _Actor("actor-b", voice, b.node_id, task_id=2)
    executor._actors = [_Actor("actor-a", voice, a.node_id, task_id=1), on_b]
    started = time.monotonic()
    executor._running = {"speak-a": _Run(1, a.node_id, "speak", started, executor._actors[0]),
                         "speak-b": _Run(2, b.node_id, "speak", started, on_b),
                         "finish-b": _Run(3, b.node_id, "finish", started)}
    assert executor.capacity == 3
    assert executor._check_nodes(set()) == {}
    executor._ray.alive = [a]  # Ray holds b dead
    executor._checked = 0.0
    dead = executor._check_nodes(set())
    assert list(dead) == [b.node_id]
    outcomes = executor._lose(b, 0)
    assert sorted((o.task_id, o.lost, o.node_lost) for o in outcomes) == [(2, True, True), (3, True, True)]
    assert {o.detail for o in outcomes} == {"Ray node bbbbbbbb (10.0.0.1) died"}
    assert list(executor._running) == ["speak-a"]
    assert executor._ray.cancelled == [("finish-b", True)] and executor._ray.killed == ["actor-b"]
    assert [x.handle for x in executor._actors] == ["actor-a"]
    assert executor.capacity == 2 and [n.node_id for n in executor._free_nodes()] == [a.node_id]
    assert executor.notices() == ["Ray node bbbbbbbb (10.0.0.1) died: its 2 running tasks go to the remaining "
                                  "1 node (2 CPUs)"]
    assert executor.notices() == []
    executor._ray.alive = [a, b]  # a dead node's id never comes back: it is not used again
    assert executor._check_nodes({a.node_id}) == {} and executor.capacity == 2


def test_a_node_whose_raylet_refuses_connections_is_dead_before_ray_says_so():
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        node = Node("c" * 8, "127.0.0.1", port, 1, 0.0)
        executor = bookkeeping([_node("a"), node])
        executor._running = {"finish-c": _Run(4, node.node_id, "finish", time.monotonic())}
        assert executor._check_nodes({node.node_id}) == {}  # it answers: alive
    dead = executor._check_nodes({node.node_id})  # nothing listens there now; Ray still says alive
    assert list(dead) == [node.node_id]


def test_the_last_node_lost_ends_the_build_with_a_clear_error():
    executor = bookkeeping([_node("a")])
    executor._ray.alive = []
    gone = re.escape("every node of the Ray cluster is gone (last: aaaaaaaa (10.0.0.1)); the build cannot go on")
    with pytest.raises(PipelineError, match=gone):
        executor._check_nodes(set())


def test_a_node_that_joins_adds_its_cpus():
    a, d = _node("a"), _node("d", cpus=4)
    executor = bookkeeping([a])
    executor._ray.alive = [a, d]
    assert executor._check_nodes({a.node_id}) == {}
    assert executor.capacity == 5
    assert executor.notices() == ["Ray node dddddddd (10.0.0.1) joined: 4 CPUs more, 5 CPUs in all"]


def test_an_idle_actor_of_another_voice_gives_its_gpu_share_up_a_busy_one_keeps_it(tmp_path):
    gpu = _node("g", cpus=2, gpus=1.0)
    executor = bookkeeping([gpu])
    (tmp_path / "other").mkdir()
    first, second = _voice(tmp_path, 1), _voice(tmp_path / "other", 1)  # two voices, a whole GPU each
    busy = _Actor("busy", first, gpu.node_id, task_id=5)
    executor._actors = [busy]
    assert not executor._make_room(gpu, second) and executor._ray.killed == []
    busy.task_id = None  # its sentence is done: idle
    assert executor._make_room(gpu, second)
    assert executor._ray.killed == ["busy"] and executor._actors == []
    assert not executor._make_room(_node("c", cpus=2), second)  # no GPU there at all


# -- the hung-task time-out -------------------------------------------------------------------------


def test_the_hung_task_time_out_follows_the_median_time_of_each_kind(monkeypatch):
    monkeypatch.delenv("EPISODES_TASK_TIMEOUT_S", raising=False)
    timer = HungTimer()
    assert timer.limit_s("speak") == TASK_TIMEOUT_S  # nothing of the kind has ended yet
    for seconds in (0.2, 0.3, 9.0):
        timer.ended("speak", seconds)
    assert timer.limit_s("speak") == MIN_TIMEOUT_S  # 20 x 0.3 s is under the floor
    for seconds in (4.0, 5.0, 6.0):
        timer.ended("speak", seconds)  # median now (4 + 5) / 2
    assert timer.limit_s("speak") == pytest.approx(TIMEOUT_FACTOR * 4.5)
    assert timer.limit_s("finish") == TASK_TIMEOUT_S  # kinds are timed apart
    timer.ended("first speak", 3.0)
    assert timer.limit_s("first speak") == pytest.approx(60.0)


def test_a_time_out_the_producer_gives_overrides_the_learned_one(monkeypatch):
    monkeypatch.setenv("EPISODES_TASK_TIMEOUT_S", "7.5")
    timer = HungTimer()
    timer.ended("speak", 100.0)
    assert timer.limit_s("speak") == timer.limit_s("finish") == 7.5
    assert HungTimer(3.0).limit_s("speak") == 3.0


def test_ray_errors_are_told_in_one_line():
    crashed = one_line(ray.exceptions.WorkerCrashedError())
    assert crashed.startswith("WorkerCrashedError: The worker died unexpectedly") and "\n" not in crashed
    assert one_line(RuntimeError("\n  first\nsecond")) == "RuntimeError: first"


# -- on the two-node cluster ----------------------------------------------------------------------


def test_the_series_builds_on_both_nodes_and_passes(cluster, project, tone_engine):
    report = ray_build(project, cluster)
    assert_every_episode_passes(report, project)
    assert report.executor == f"Ray cluster at {cluster.address}: 2 CPUs on 2 nodes"
    worked = set()
    for entry in manifest_entries(project):
        worked |= {name.rsplit("/", 1)[1] for name in [entry["nodes"]["master"], *entry["nodes"]["speech"]]}
    assert {node.node_id[:8] for node in cluster.list_all_nodes()} <= worked
    assert tone_engine.calls == []  # every sentence was spoken on the cluster, none in this process


def test_from_a_warm_cache_the_mp3s_are_the_local_executors_bytes(cluster, project, tone_engine, tmp_path):
    assert not local_build(project).failed  # fills the sentence cache (under out/, so copied with it)
    other = tmp_path / "other"
    shutil.copytree(project, other)
    local = local_build(project, force=True)
    remote = ray_build(other, cluster, force=True)
    assert not local.failed and not remote.failed
    assert [r.synthesized_sentences for r in remote.results] == [0, 0, 0]  # warm: only mastering ran on Ray
    assert {r.nodes["master"] for r in remote.results}.isdisjoint({r.nodes["master"] for r in local.results})
    names = [r.file for r in local.results]
    assert names == [r.file for r in remote.results] == ["01-alpha.mp3", "02-beta.mp3", "03-gamma.mp3"]
    for name in names:
        assert (other / "out" / "test-series" / name).read_bytes() == \
            (project / "out" / "test-series" / name).read_bytes(), name


def _ancestors(pid: int) -> set[int]:
    found = set()
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        found.add(pid)
    return found


def _speaking_actors(raylets: set[int]) -> list[int]:
    """PIDs of this cluster's voice actors busy speaking (Ray titles a worker by the method it runs)."""
    pids = []
    for folder in Path("/proc").iterdir():
        if not folder.name.isdigit():
            continue
        try:
            command = (folder / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith(b"ray::VoiceActor.speak") and _ancestors(int(folder.name)) & raylets:
            pids.append(int(folder.name))
    return pids


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the worker through /proc")
def test_a_voice_worker_killed_mid_build_costs_a_retry_and_the_build_completes(cluster, project, tone_engine):
    own_sentences(project)
    raylets = {info.process.pid for node in cluster.list_all_nodes() for info in node.all_processes["raylet"]}
    killed: list[int] = []
    stop = threading.Event()

    def kill_one() -> None:
        while not stop.is_set() and not killed:
            for pid in _speaking_actors(raylets)[:1]:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            stop.wait(0.02)

    killer = threading.Thread(target=kill_one, daemon=True)
    killer.start()
    try:
        report = ray_build(project, cluster)
    finally:
        stop.set()
        killer.join()
    assert killed, "no voice actor was caught speaking"
    assert report.retried >= 1 and sum(r.retried for r in report.results) >= 1
    assert_every_episode_passes(report, project)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{killed[0]}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)  # reaped by its raylet
    assert not Path(f"/proc/{killed[0]}").exists()


def test_a_hung_voice_actor_is_stopped_after_the_time_out_and_the_build_completes(cluster, project, tone_engine,
                                                                                  monkeypatch):
    own_sentences(project)
    cluster.hang_file.write_text(f"beta {os.getpid()}")
    monkeypatch.setenv("EPISODES_TASK_TIMEOUT_S", "15")  # longer than a new actor takes to start and speak
    try:
        report = ray_build(project, cluster)
        assert not cluster.hang_file.exists()  # an actor took the word and hung
    finally:
        cluster.hang_file.unlink(missing_ok=True)  # no later test's actor may hang
    assert report.retried == 1 and report.results[1].retried == 1
    retries = [w for w in report.warnings if "retried" in w]
    assert len(retries) == 1 and re.fullmatch(r"test-series/02-beta: retried speaking '.*beta.*' \(Ray voice actor "
                                              r"gave no answer in 15 s and was stopped\)", retries[0]), retries
    assert_every_episode_passes(report, project)


def test_a_task_error_fails_only_its_episode_with_file_and_line(cluster, project, tone_engine):
    script = project / "scripts" / "test-series" / "02-beta.md"
    script.write_text(episode_text(2, "beta", "A calm first sentence here.\n\nThis one makes the model explode."))
    report = ray_build(project, cluster)  # the tone engine raises on "explode"
    assert [r.status for r in report.results] == ["built", "error", "built"]
    assert report.results[1].error == f"{script}:11: unexpected error: RuntimeError('model exploded')"
    assert report.retried == 0


def test_a_voices_gpu_share_puts_its_actors_on_gpu_nodes(cluster, project, tone_engine):
    (project / "voices" / "joe.yaml").write_text(f"{TONE_VOICE}gpus: 0.5\n")
    (project / "voices" / "huge.yaml").write_text(f"{TONE_VOICE}gpus: 2\n")
    script = project / "scripts" / "test-series" / "03-gamma.md"
    body = "A short sentence for a voice too big for the cluster."
    script.write_text(episode_text(3, "gamma", body, "voice: huge\n"))
    report = ray_build(project, cluster)
    assert [r.status for r in report.results] == ["built", "built", "error"]
    assert f"{project / 'voices' / 'huge.yaml'}: the voice `huge` asks for 2 GPUs per worker" in report.results[2].error
    gpu_node = next(n.node_id[:8] for n in cluster.list_all_nodes() if not n.head)
    assert {name.rsplit("/", 1)[1] for r in report.results[:2] for name in r.nodes["speech"]} == {gpu_node}


def _voice_actors(raylets: set[int]) -> list[int]:
    """PIDs of this cluster's voice actors, busy or idle."""
    return [pid for pid in _descendants_of(raylets) if _command(pid).startswith(b"ray::VoiceActor")]


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _descendants_of(pids: set[int]) -> list[int]:
    return [int(f.name) for f in Path("/proc").iterdir() if f.name.isdigit() and _ancestors(int(f.name)) & pids]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the voice actors through /proc")
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_a_signal_ends_a_ray_build_like_a_local_one(cluster, project, tone_engine, number):
    """SIGTERM or Ctrl-C while the cluster speaks: the CLI stops the build, keeps what is done and
    exits as a local build does (130 after Ctrl-C, 143 after SIGTERM), without Ray's crash report;
    the build's voice actors are stopped."""
    own_sentences(project)
    raylets = {info.process.pid for node in cluster.list_all_nodes() for info in node.all_processes["raylet"]}
    command = [sys.executable, "-m", "pipeline.cli", "--project", str(project), "build", "--executor", "ray",
               "--ray-address", cluster.address]
    # Ctrl-C reaches a process whose SIGINT is not ignored (a shell's background job ignores it)
    cli = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 120
        while not _speaking_actors(raylets) and cli.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cli.poll() is None, "the build ended before a voice actor was caught speaking"
        cli.send_signal(number)
        out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
    assert cli.returncode == (143 if number == signal.SIGTERM else 130), (out, err)
    assert "interrupted:" in err and "SIGTERM received" not in err + out and "logging.cc" not in err + out, (out, err)
    deadline = time.monotonic() + 20
    while _voice_actors(raylets) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _voice_actors(raylets)


def _descendants(pid: int) -> list[int]:
    """Processes under `pid` (a raylet's workers and agents)."""
    return [int(f.name) for f in Path("/proc").iterdir() if f.name.isdigit() and pid in _ancestors(int(f.name))]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the raylet's workers through /proc")
def test_a_node_whose_raylet_is_killed_mid_build_costs_its_tasks_and_the_build_completes(cluster, project,
                                                                                        tone_engine, capfd):
    """The issue's case: a node's raylet is killed (SIGKILL) while it speaks. Its tasks run again on
    the remaining nodes at once, nothing waits for a time-out, and the build says what was lost.
    The node is one added to the module's cluster for this test (run last: Ray keeps a dead node in
    its tables), so the head and the GPU node remain."""
    own_sentences(project)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EPISODES_TONE_DELAY_S", DELAY_S)
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
    raylet = worker.all_processes["raylet"][0].process.pid
    killed: list[list[int]] = []
    stop = threading.Event()

    def kill_its_raylet_while_it_speaks() -> None:
        while not stop.is_set() and not killed:
            if _speaking_actors({raylet}):
                orphans = _descendants(raylet)
                os.kill(raylet, signal.SIGKILL)
                killed.append(orphans)
            stop.wait(0.02)

    executors: list[RayExecutor] = []

    def executor_factory(steps):
        executors.append(RayExecutor(cluster.address))
        return executors[0]

    killer = threading.Thread(target=kill_its_raylet_while_it_speaks, daemon=True)
    killer.start()
    started = time.monotonic()
    try:
        report = build(Project(project), [], BuildOptions(executor="ray", ray_address=cluster.address),
                       executors=executor_factory)
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        killer.join()
        cluster.remove_node(worker, allow_graceful=False)
        for pid in killed[0] if killed else []:  # its workers, which outlive a raylet killed outright
            try:
                if Path(f"/proc/{pid}/cmdline").read_bytes().startswith(b"ray::"):
                    os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    assert killed, "no voice actor was caught speaking on the added node"
    assert report.executor == f"Ray cluster at {cluster.address}: 3 CPUs on 3 nodes"
    assert_every_episode_passes(report, project)
    said = executors[0].notices() + report.warnings  # whichever the driver shows them in
    lost = [line for line in said if line.startswith("Ray node")]
    name = f"{worker.node_id[:8]} ({worker.node_ip_address})"
    assert len(lost) == 1 and re.fullmatch(rf"Ray node {re.escape(name)} died: its (1 running task goes|[2-9] "
                                           r"running tasks go) to the remaining 2 nodes \(2 CPUs\)", lost[0]), lost
    assert not [w for w in report.warnings if "gave no answer" in w]  # no task waited for the time-out
    printed = capfd.readouterr()
    assert "Raylet is terminated" not in printed.out + printed.err  # Ray's message went to the log
    assert elapsed < TASK_TIMEOUT_S / 4
