"""Each run's best device per case (``benchmarks.results.best_device``): a CPU laptop against a box with a
CPU and a GPU, and against a GPU-only run. No GPU here: a GPU run is simulated by renaming the device of
a CPU result file (``relabel_device``), its numbers those of the CPU file. The page of a GPU-only run
is in ``test_compare.py``."""

from __future__ import annotations

import pytest

from benchmarks.results.best_device import best_device_rows, check_devices
from benchmarks.results.history import read_run
from benchmarks.results.schema import ResultInputError
from tests.common.synthetic_runs import relabel_device, result_document, with_devices, write_result

# Step-time factors against the laptop: the box's CPU is twice as slow, its GPU four times as fast.
BOX_CPU_SLOWER = 2.0
BOX_GPU_FASTER = 4.0
RATIO_RTOL = 1e-9  # quantile samples: medians exact, ratios exact up to rounding


def _run(path, document):
    return read_run(write_result(path, document))


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("devices")


@pytest.fixture(scope="module")
def laptop(folder):
    return _run(folder / "laptop.json", result_document(node="laptop", quantiles=True))


@pytest.fixture(scope="module")
def box(folder):
    cpu = result_document(node="box", quantiles=True, slow={"*": BOX_CPU_SLOWER})
    gpu = relabel_device(
        result_document(quantiles=True, seed=1, slow={"*": 1 / BOX_GPU_FASTER}), "GPU:0", description="A100"
    )
    return _run(folder / "box.json", with_devices(cpu, gpu))


@pytest.fixture(scope="module")
def box_rows(laptop, box):
    return best_device_rows([laptop, box])


@pytest.fixture(scope="module")
def gpu_only(folder):
    document = relabel_device(result_document(node="gpu-only", quantiles=True, seed=2), "GPU:0")
    return _run(folder / "gpu-only.json", document)


def test_the_box_runs_every_case_best_on_its_gpu_and_says_by_how_much(box_rows):
    rows = box_rows
    assert rows and all(row.cells[1].device == "GPU:0" for row in rows)
    assert all(row.cells[1].device_label == "GPU:0 (A100)" for row in rows)
    for row in rows:
        margin = row.cells[1].margin
        assert row.cells[1].runner_up == "CPU:0"
        assert (
            margin.ratio == pytest.approx(BOX_CPU_SLOWER * BOX_GPU_FASTER, rel=RATIO_RTOL) and margin.low > 1
        )


def test_each_runs_best_is_compared_with_the_first_runs_best(box_rows):
    for row in box_rows:
        assert row.cells[0].device == "CPU:0" and row.cells[0].ratio is None and row.cells[0].margin is None
        assert row.cells[1].ratio.ratio == pytest.approx(BOX_GPU_FASTER, rel=RATIO_RTOL)


def test_the_faster_run_wins_decisively_on_its_device(box_rows):
    for row in box_rows:
        assert (row.winner.run, row.winner.device, row.winner.second) == (1, "GPU:0", 0)
        assert row.winner.decisive


def test_equal_runs_leave_the_winner_inconclusive(laptop, folder):
    twin = _run(folder / "twin.json", result_document(node="twin", quantiles=True))
    rows = best_device_rows([laptop, twin])
    assert rows and not any(row.winner.decisive for row in rows)


def test_a_gpu_only_run_meets_a_cpu_only_run_on_every_case(laptop, gpu_only):
    rows = best_device_rows([laptop, gpu_only])
    assert {row.key for row in rows} == {key.rsplit("/", 1)[0] for key in laptop.benchmarks} - {
        "calibration/matmul512"
    }
    assert all((row.cells[0].device, row.cells[1].device) == ("CPU:0", "GPU:0") for row in rows)
    assert all(row.cells[1].ratio.ratio == pytest.approx(1.0, rel=RATIO_RTOL) for row in rows)


def test_a_case_only_one_run_has_is_shown_with_that_run_as_the_only_one(laptop, folder):
    more = _run(folder / "more.json", result_document(node="more", quantiles=True, batches=(32, 2048, 4096)))
    row = next(r for r in best_device_rows([laptop, more]) if r.batch == "4096")
    assert row.cells[0].throughput is None and row.cells[1].throughput is not None
    assert (row.winner.run, row.winner.second, row.winner.decisive) == (1, None, True)


def test_check_devices_accepts_cpu_gpu_and_tpu(laptop, box, folder):
    tpu = _run(folder / "tpu.json", relabel_device(result_document(), "TPU:3"))
    for run in (laptop, box, tpu):
        check_devices(run)


def test_check_devices_names_the_file_the_case_and_the_device(folder):
    run = _run(folder / "npu.json", relabel_device(result_document(), "NPU:0"))
    with pytest.raises(ResultInputError, match=r"npu\.json: case '.*NPU:0': unknown device 'NPU:0'"):
        check_devices(run)
