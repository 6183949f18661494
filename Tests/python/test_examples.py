"""Runs every example under ``examples/`` (curl scripts with bash, Python
scripts with this interpreter) against a fresh server, the way a user runs
them after ``make run``: the server's address and token come from
``KEYWAY_URL`` and ``KEYWAY_TOKEN``.

Each example checks its own answers and exits non-zero on a wrong one. It
runs twice (examples must be idempotent) and must leave no keys behind.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, free_port, start_server

EXAMPLES = REPO_ROOT / "examples"
# Generous: the slowest example waits about 3 s on purpose (blocking pops
# that time out); a hung request fails the test instead of the suite.
RUN_TIMEOUT = 60


def example_scripts() -> list[Path]:
    scripts = sorted((EXAMPLES / "curl").glob("*.sh")) + sorted((EXAMPLES / "python").glob("*.py"))
    return [s for s in scripts if not s.name.startswith("_")]  # _lib.sh, _common.py are shared helpers


def example_id(script: Path) -> str:
    return f"{script.parent.name}/{script.stem}"


@pytest.fixture(scope="module")
def example_server():
    srv = start_server()
    try:
        yield srv
    finally:
        srv.cleanup()


def run_example(script: Path, server) -> subprocess.CompletedProcess:
    interpreter = ["bash"] if script.suffix == ".sh" else [sys.executable]
    env = {**os.environ, "KEYWAY_URL": server.url, "KEYWAY_TOKEN": server.token}
    try:
        return subprocess.run(
            [*interpreter, str(script)], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{example_id(script)} did not finish within {RUN_TIMEOUT} s; output so far:\n{exc.stdout}\n{exc.stderr}")


def example_keys(server) -> list:
    reply = server.command("KEYS", "example:*").json()
    assert "result" in reply, reply
    return reply["result"]


def test_every_pattern_has_both_flavours():
    curl = {s.stem for s in example_scripts() if s.suffix == ".sh"}
    python = {s.stem for s in example_scripts() if s.suffix == ".py"}
    assert curl == python
    assert len(curl) >= 11


def test_examples_readme_lists_every_example():
    readme = (EXAMPLES / "README.md").read_text()
    for script in example_scripts():
        assert f"{script.parent.name}/{script.name}" in readme, f"examples/README.md does not mention {script}"


@pytest.mark.parametrize("script", example_scripts(), ids=example_id)
def test_example_runs_and_checks_its_answers(example_server, script: Path):
    for run in (1, 2):
        result = run_example(script, example_server)
        output = f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        assert result.returncode == 0, f"{example_id(script)} run {run} exited {result.returncode}\n{output}"
        assert "all checks passed" in result.stdout, output
        assert example_keys(example_server) == [], f"{example_id(script)} left keys behind\n{output}"


@pytest.mark.parametrize("script", ["curl/counters.sh", "python/counters.py"])
def test_examples_work_without_a_token(script: str):
    """`make run` serves without a token; KEYWAY_TOKEN then stays unset."""
    srv = start_server(token_flag=False)
    try:
        path = EXAMPLES / script
        interpreter = ["bash"] if path.suffix == ".sh" else [sys.executable]
        env = {k: v for k, v in os.environ.items() if k != "KEYWAY_TOKEN"} | {"KEYWAY_URL": srv.url}
        result = subprocess.run(
            [*interpreter, str(path)], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
        assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    finally:
        srv.cleanup()


@pytest.mark.parametrize("script", ["curl/counters.sh", "python/counters.py"])
def test_examples_fail_loudly_on_a_wrong_token(example_server, script: str):
    path = EXAMPLES / script
    interpreter = ["bash"] if path.suffix == ".sh" else [sys.executable]
    env = {**os.environ, "KEYWAY_URL": example_server.url, "KEYWAY_TOKEN": "not-the-token"}
    result = subprocess.run([*interpreter, str(path)], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode != 0
    assert "all checks passed" not in result.stdout


@pytest.mark.parametrize("script", ["curl/counters.sh", "python/counters.py"])
def test_examples_fail_when_no_server_answers(script: str):
    path = EXAMPLES / script
    interpreter = ["bash"] if path.suffix == ".sh" else [sys.executable]
    env = {**os.environ, "KEYWAY_URL": f"http://127.0.0.1:{free_port()}", "KEYWAY_TOKEN": "x"}
    result = subprocess.run([*interpreter, str(path)], env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode != 0
    assert "all checks passed" not in result.stdout


def test_a_wrong_answer_stops_a_curl_example():
    script = 'source examples/curl/_lib.sh; expect "$(echo 2)" 3 "two"; echo unreachable'
    result = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 1
    assert "FAIL: two: got '2', want '3'" in result.stderr
    assert "unreachable" not in result.stdout


def test_json_args_escapes_what_json_needs():
    script = 'source examples/curl/_lib.sh; json_args SET \'a"b\\c\' "$(printf \'x\\ny\\tz\')"'
    result = subprocess.run(["bash", "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["SET", 'a"b\\c', "x\ny\tz"]
