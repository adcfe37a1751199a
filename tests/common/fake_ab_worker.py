"""A stand-in for ``benchmarks.ab_worker`` without TensorFlow: the same protocol, step times made up.

The tests copy it to ``<tree>/benchmarks/ab_worker.py`` of a fake project tree and pass that tree as
``tfbench-ab --src``; ``--set LABEL:FAKE_...=...`` steers each environment:

| variable | effect |
|---|---|
| ``FAKE_STEP_S`` | the step time (default 0.001 s), times ``1 + inject`` |
| ``FAKE_SCALE`` | multiplies the step time (``1.2``: 20% slower) |
| ``FAKE_NOISE`` | relative amplitude of a noise shared by every environment: ``1 + NOISE * sin(round)`` |
| ``FAKE_JITTER`` | relative amplitude of this environment's own noise: ``1 + JITTER * cos(2.1 round)`` |
| ``FAKE_WORKER_SCALE`` | per worker number, comma-separated: multiplies that worker's step time (``1,1.04``: worker 2 is 4% slower) |
| ``FAKE_MISSING`` | answer that this package is missing, exit 2 |
| ``FAKE_CRASH``, ``FAKE_HANG`` | ``start``, ``prepare`` or ``burst``: exit 3 (after a line on stderr) or sleep there |
| ``FAKE_REFUSE`` | a case label whose check fails |
| ``FAKE_CASES`` | the case matrix, comma-separated (default ``CASES``) |
| ``FAKE_PROTOCOL`` | the protocol number announced (default 2) |
| ``FAKE_LOG`` | a file to which the worker appends ``<label>#<worker> pid <pid>`` and ``<label>#<worker> environ <sha256 of its variables, PYTHONPATH and TF_XLA_FLAGS by their lengths>`` at start, ``<label>#<worker> <case> <time.monotonic()>`` per burst |
| ``FAKE_COMMANDS`` | a file to which the worker appends, per line, its job and each ``prepare`` and ``size`` command as JSON with ``"worker": "<label>#<worker>"`` and its ``TF_XLA_FLAGS`` |
| ``FAKE_SLEEP_S`` | seconds each burst sleeps (default 0) |
| ``FAKE_PREPARE_S`` | seconds each prepare sleeps (default 0) |
"""

import hashlib
import json
import math
import os
import sys
import time

CASES = ["quadratic-b--eager", "quadratic-b--function", "basic-b32-function", "basic-b32-fit"]


def answer(**payload):
    sys.stdout.write("@@" + json.dumps(payload) + "\n")
    sys.stdout.flush()


def record(name, command):
    if os.environ.get("FAKE_COMMANDS"):
        with open(os.environ["FAKE_COMMANDS"], "a") as log:
            log.write(json.dumps(command | {"worker": name}) + "\n")


def stop_here(stage):
    if os.environ.get("FAKE_CRASH") == stage:
        sys.stderr.write(f"fake worker: crashed at {stage}\n")
        sys.stderr.flush()
        sys.exit(3)
    if os.environ.get("FAKE_HANG") == stage:
        time.sleep(3600)


def main():
    job = json.loads(sys.stdin.readline())
    if os.environ.get("FAKE_MISSING"):
        answer(
            ok=False,
            missing=os.environ["FAKE_MISSING"],
            error=f"No module named {os.environ['FAKE_MISSING']!r}",
        )
        return 2
    name = f"{job['label']}#{job['worker']}"
    if os.environ.get("FAKE_LOG"):
        with open(os.environ["FAKE_LOG"], "a") as log:
            log.write(f"{name} pid {os.getpid()}\n")
            variables = json.dumps(
                sorted(
                    (k, len(v) if k in ("PYTHONPATH", "TF_XLA_FLAGS") else v) for k, v in os.environ.items()
                )
            ).encode()
            log.write(f"{name} environ {hashlib.sha256(variables).hexdigest()}\n")
    record(name, job | {"cmd": "job", "TF_XLA_FLAGS": os.environ.get("TF_XLA_FLAGS")})
    stop_here("start")
    step_s = float(os.environ.get("FAKE_STEP_S", "0.001")) * float(os.environ.get("FAKE_SCALE", "1"))
    step_s *= 1 + float(job["inject"])
    scales = os.environ.get("FAKE_WORKER_SCALE", "").split(",")
    step_s *= float(scales[job["worker"] - 1]) if len(scales) >= job["worker"] and scales[0] else 1.0
    noise = float(os.environ.get("FAKE_NOISE", "0"))
    jitter = float(os.environ.get("FAKE_JITTER", "0"))
    answer(
        ok=True,
        protocol=int(os.environ.get("FAKE_PROTOCOL", "2")),
        pid=os.getpid(),
        executable=sys.executable,
        python=sys.version.split()[0],
        versions={"tensorflow": "fake", "keras": "fake", "numpy": "fake"},
        cases=os.environ["FAKE_CASES"].split(",") if os.environ.get("FAKE_CASES") else CASES,
    )
    bursts = {}
    for line in sys.stdin:
        command = json.loads(line)
        case = command.get("case")
        if command["cmd"] in ("prepare", "size"):
            record(name, command)
        if command["cmd"] == "prepare":
            stop_here("prepare")
            time.sleep(float(os.environ.get("FAKE_PREPARE_S", "0")))
            if case == os.environ.get("FAKE_REFUSE"):
                answer(ok=True, passed=False, message=f"mode of {case} disagrees with the eager step")
            else:
                steps = 1 if job.get("proposes") else None
                answer(ok=True, passed=True, steps=steps, first_call_s=0.0, check={})
        elif command["cmd"] == "size":
            proposed = max(1, round(float(job["burst_s"]) / step_s))
            calls = proposed if command["calls"] is None else command["calls"]
            answer(ok=True, steps=command["steps"], calls=calls, call_s=step_s)
        elif command["cmd"] == "burst":
            stop_here("burst")
            bursts[case] = bursts.get(case, 0) + 1
            if os.environ.get("FAKE_LOG"):
                with open(os.environ["FAKE_LOG"], "a") as log:
                    log.write(f"{name} {case} {time.monotonic()}\n")
            time.sleep(float(os.environ.get("FAKE_SLEEP_S", "0")))
            r = bursts[case]
            answer(
                ok=True, step_s=step_s * (1 + noise * math.sin(r)) * (1 + jitter * math.cos(2.1 * r)), calls=1
            )
        else:
            return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
