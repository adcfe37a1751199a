"""The commands' shared ending: bad input as one line on stderr and exit 2, anything else untouched."""

from __future__ import annotations

import signal

import pytest

from benchmarks.results.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_REGRESSION, Parser, command
from benchmarks.results.schema import ResultInputError


def _raising(error: BaseException):
    @command("tfbench-test")
    def main(argv=None) -> int:
        raise error

    return main


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (ResultInputError("run.json: file is empty"), "run.json: file is empty"),
        (
            ValueError("Argument `keep` must be >= 1.\nReceived: keep=0"),
            "Argument `keep` must be >= 1. Received: keep=0",
        ),
        (PermissionError(13, "Permission denied", "/reports/gate.md"), "/reports/gate.md: Permission denied"),
        (FileNotFoundError(2, "No such file or directory"), "[Errno 2] No such file or directory"),
    ],
    ids=["input", "argument-on-two-lines", "os-error-with-file", "os-error-without-file"],
)
def test_bad_input_is_one_line_naming_the_command_and_exit_2(capsys, error, line):
    assert _raising(error)([]) == EXIT_BAD_INPUT
    captured = capsys.readouterr()
    assert captured.err == f"tfbench-test: error: {line}\n" and captured.out == ""


def test_other_errors_are_not_taken_for_bad_input():
    with pytest.raises(ZeroDivisionError):
        _raising(ZeroDivisionError("a bug"))([])


@pytest.mark.parametrize("code", [EXIT_OK, EXIT_REGRESSION])
def test_a_command_that_returns_keeps_its_exit_code_and_says_nothing_on_stderr(capsys, code):
    @command("tfbench-test")
    def main(argv=None) -> int:
        return code

    assert main(["x"]) == code
    assert capsys.readouterr().err == ""


def test_an_interruption_is_one_line_and_exit_2(capsys):
    assert _raising(KeyboardInterrupt())([]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "tfbench-test: error: interrupted by SIGINT\n"


def test_sigterm_while_a_command_runs_is_an_interruption_and_the_previous_handler_comes_back(capsys):
    before = signal.getsignal(signal.SIGTERM)

    @command("tfbench-test")
    def main(argv=None) -> int:
        signal.raise_signal(signal.SIGTERM)
        return EXIT_OK

    assert main([]) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == "tfbench-test: error: interrupted by SIGTERM\n"
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--number", "abc"], "argument --number: invalid int value: 'abc'"),
        (["--number", "1", "--unknown"], "unrecognized arguments: --unknown"),
        ([], "the following arguments are required: --number"),
    ],
    ids=["not-a-number", "unknown-option", "missing-option"],
)
def test_a_bad_command_line_is_one_line_naming_the_option(capsys, argv, message):
    @command("tfbench-test")
    def main(argv=None) -> int:
        parser = Parser(prog="tfbench-test")
        parser.add_argument("--number", type=int, required=True)
        parser.parse_args(argv)
        return EXIT_OK

    assert main(argv) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == f"tfbench-test: error: {message} (see tfbench-test --help)\n"
