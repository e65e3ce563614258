"""Code extraction, syntax checks, debug-log lines, hyperparameter parsing and error types."""

from hypothesis import given
from hypothesis import strategies as st

from backend.pipeline.errors import classify_error, exception_from_traceback, traceback_frames
from backend.pipeline.extract import (
    check_syntax,
    extract_code,
    extract_debug_log,
    fenced_blocks,
    parse_hyperparameters,
)

PROGRAM = "import torch\n\nmodel = torch.nn.Linear(64, 10)\nwith open('metric.log', 'w') as f:\n    f.write('0.9')\n"


def test_single_fenced_block_with_prose_around():
    text = f"Here is the program:\n\n```python\n{PROGRAM}```\n\nIt writes metric.log at the end."
    assert extract_code(text) == PROGRAM


def test_several_blocks_prefers_the_program_over_shell_and_usage_snippets():
    text = (f"Install first:\n```bash\npip install torch\n```\nThen:\n```python\n{PROGRAM}```\n"
            "Usage:\n```python\nprint(model)\n```\n")
    assert extract_code(text) == PROGRAM


def test_program_split_across_blocks_is_joined_in_order():
    text = "```python\nimport torch\nclass M(torch.nn.Module):\n    pass\n```\nand\n```py\nm = M()\nprint(m)\n```"
    code = extract_code(text)
    assert code.index("class M") < code.index("m = M()")
    assert check_syntax(code) is None


def test_missing_fences_strip_leading_and_trailing_prose():
    text = "Sure, this trains the model.\nimport os\nx = 1\nfor i in range(3):\n    print(i)\nThis prints three numbers."
    assert extract_code(text) == "import os\nx = 1\nfor i in range(3):\n    print(i)\n"


def test_cut_off_answer_keeps_the_open_block():
    text = "```python\nimport os\nprint(os.getcwd())\n"
    assert extract_code(text) == "import os\nprint(os.getcwd())\n"
    assert fenced_blocks(text)[0].closed is False


def test_shell_only_answer_has_no_program():
    assert extract_code("Run this:\n```bash\npip install torch\n```") == ""
    assert check_syntax("").message == "the response contains no program"


def test_syntax_error_reports_line_and_traceback_shape():
    problem = check_syntax("import os\nfor i in range(3)\n    print(i)\n")
    assert problem is not None and problem.line == 2
    stderr = problem.as_stderr()
    assert exception_from_traceback(stderr)[0] == "SyntaxError"
    assert traceback_frames(stderr)[0].line == 2


@given(st.text())
def test_extraction_never_raises(text):
    code = extract_code(text)
    assert isinstance(code, str)
    check_syntax(code)


def test_debug_log_line_and_fallbacks():
    assert extract_debug_log("DEBUG LOG: KeyError -> renamed the key\n```python\nx = 1\n```") == "KeyError -> renamed the key"
    assert extract_debug_log("**Debug log**: fixed   the\nshape") == "fixed the"
    assert extract_debug_log("I fixed the tensor shapes.\n```python\nx=1\n```") == "I fixed the tensor shapes."
    assert extract_debug_log("```python\nx=1\n```", "ValueError") == "ValueError -> rewrote the program"


def test_hyperparameters_from_lines_json_and_code():
    parsed = parse_hyperparameters("Recommended:\n- Learning rate: 3e-4 (with warmup)\n- batch_size = 64\n"
                                   "3. **Epochs**: 20\n- optimizer: AdamW\n- use_amp: true")
    assert parsed == {"learning_rate": 3e-4, "batch_size": 64, "epochs": 20, "optimizer": "AdamW", "use_amp": True}
    assert parse_hyperparameters('```json\n{"lr": 0.01, "Batch Size": 32}\n```') == {"lr": 0.01, "batch_size": 32}
    assert parse_hyperparameters("no values here") == {}


def test_error_types_from_tracebacks_and_statuses():
    tb = ('Traceback (most recent call last):\n  File "program.py", line 4, in <module>\n    import timm\n'
          "ModuleNotFoundError: No module named 'timm'\n")
    assert classify_error("failed", tb, None) == "ModuleNotFoundError"
    chained = tb + "\nDuring handling of the above exception, another exception occurred:\n\n" + tb.replace(
        "ModuleNotFoundError: No module named 'timm'", "torch.OutOfMemoryError: CUDA out of memory.")
    assert classify_error("failed", chained, None) == "OutOfMemory"
    assert classify_error("timeout", tb, None) == "Timeout"
    assert classify_error("memory", "", None) == "OutOfMemory"
    assert classify_error("succeeded", "", None) == "NoScore"
    assert classify_error("succeeded", "", 0.9) is None
    assert classify_error("failed", "Killed\n", None) == "ExitError"


def test_a_fence_inside_the_program_does_not_cut_it():
    # A docstring with a Markdown example: its inner ``` must not end the python block.
    program = 'def f():\n    """Usage:\n    ```\n    f()\n    ```\n    """\n    return 2\n\n\nprint(f())\n'
    answer = f"Here is the final program.\n\n```python\n{program}```\n\nIt prints 2."
    assert extract_code(answer) == program
    # A broken program is not stretched over later text: it stays broken for the debug loop.
    broken = "```python\ndef f(:\n    pass\n```\n\nThen run:\n\n```bash\npython program.py\n```\n"
    assert extract_code(broken) == "def f(:\n    pass\n"
