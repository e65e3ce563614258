"""Repositories: a real installed package (torch's layer modules) by folder and zip, the
C++/CUDA fixture through tree-sitter, unsafe zips, and a GitHub URL served on loopback."""

from __future__ import annotations

import importlib.util
import re
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from backend.generate.sources import SourceError, read_repository
from backend.generate.sources.repo import github_zip
from tests.generate.sources_helpers import CPP_REPO, LoopbackServer, Served


def _installed_folder(module: str) -> Path:
    spec = importlib.util.find_spec(module.split(".")[0])
    assert spec and spec.origin, f"{module} is not installed (it is in the test extra)"
    return Path(spec.origin).parent.joinpath(*module.split(".")[1:])


@pytest.fixture(scope="module")
def nn_repo() -> Path:
    """torch's layer modules (BSD-3), read in place from the installed package: the code the fixture
    paper's networks are built from (its "Affine", "ReLU", "Flatten", "Convolution2D",
    "MaximumPooling2D", "Softmax" layers are torch.nn's Linear, ReLU, Flatten, Conv2d, MaxPool2d,
    Softmax). The paper's own repository cannot be copied into ours; see fixtures/hcrbounds/README.md."""
    return _installed_folder("torch.nn.modules")


PAPER_LAYERS = {
    "Linear": "linear.py",
    "ReLU": "activation.py",
    "Flatten": "flatten.py",
    "Conv2d": "conv.py",
    "MaxPool2d": "pooling.py",
    "Softmax": "activation.py",
}


def _zip_folder(folder: Path, dest: Path, prefix: str) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.py")):
            zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return dest


@pytest.fixture(scope="module")
def nn_units(nn_repo):
    return read_repository(str(nn_repo))


def test_real_repository_classes_with_file_and_line(nn_repo, nn_units):
    assert not nn_units.problems
    by_name = {(u.kind, u.name): u for u in nn_units}
    for name, file in PAPER_LAYERS.items():
        unit = by_name[("class", name)]
        assert unit.file == file and unit.language == "python"
    assert by_name[("class", "Linear")].docstring.startswith("Applies an affine linear transformation")
    # Every unit's file:line is checked against the file itself.
    lines_of = {}
    for unit in nn_units:
        lines = lines_of.setdefault(unit.file, (nn_repo / unit.file).read_text("utf-8").splitlines())
        short = unit.name.rsplit(".", 1)[-1]
        keyword = "class" if unit.kind == "class" else "def"
        assert re.match(rf"\s*(async\s+)?{keyword} {re.escape(short)}\b", lines[unit.line - 1]), unit
        assert unit.source in "\n".join(lines) and lines[unit.line - 1] in unit.source  # a slice of the file
    # All top-level classes of activation.py are found, no more, no fewer.
    activation = (nn_repo / "activation.py").read_text("utf-8")
    top_level = re.findall(r"^class (\w+)", activation, re.M)
    found = [
        u.name for u in nn_units if u.kind == "class" and u.file == "activation.py" and "." not in u.name
    ]
    assert sorted(found) == sorted(top_level)
    forward = by_name[("method", "Linear.forward")]
    assert forward.file == "linear.py" and "def forward" in forward.source


def test_the_paper_names_the_layers_the_repository_defines(nn_units):
    from backend.generate.sources import read_paper
    from tests.generate.sources_helpers import HCR_PAPER

    mnist = next(s.text for s in read_paper(str(HCR_PAPER)).sections if s.name == "Results / MNIST")
    classes = {u.name for u in nn_units if u.kind == "class"}
    # The MNIST net: inputs -> Flatten -> Affine -> ReLU -> ... -> Softmax (Affine is torch's Linear).
    for paper_word, class_name in (
        ("Flatten", "Flatten"),
        ("ReLU", "ReLU"),
        ("Softmax", "Softmax"),
        ("Affine$_{784 \\times 10}$", "Linear"),
    ):
        assert f"{paper_word} $\\rightarrow$" in mnist and class_name in classes


def test_zip_of_the_repository_gives_the_same_units(nn_repo, nn_units, tmp_path):
    archive = _zip_folder(
        nn_repo, tmp_path / "modules-main.zip", "modules-main"
    )  # GitHub's one-folder layout
    from_zip = read_repository(str(archive))
    assert [(u.kind, u.name, u.file, u.line) for u in from_zip] == [
        (u.kind, u.name, u.file, u.line) for u in nn_units
    ]


EXPECTED_CPP = [
    ("class", "AttentionConfig", "include/attention.hpp", "cpp"),
    ("class", "MultiHeadAttention", "include/attention.hpp", "cpp"),
    ("method", "MultiHeadAttention::scale", "include/attention.hpp", "cpp"),
    ("function", "clamp_value", "include/attention.hpp", "cpp"),
    ("class", "LayerNormParams", "kernels/layernorm.cuh", "cuda"),
    ("function", "rsqrt_approx", "kernels/layernorm.cuh", "cuda"),
    ("function", "warp_max", "kernels/softmax.cu", "cuda"),
    ("function", "softmax_kernel", "kernels/softmax.cu", "cuda"),
    ("function", "launch_softmax", "kernels/softmax.cu", "cuda"),
    ("method", "MultiHeadAttention::MultiHeadAttention", "src/attention.cpp", "cpp"),
    ("function", "dot", "src/attention.cpp", "cpp"),
    ("method", "MultiHeadAttention::forward", "src/attention.cpp", "cpp"),
    ("function", "still_parsed", "src/broken.cpp", "cpp"),
    ("class", "Broken", "src/broken.cpp", "cpp"),
]


@pytest.fixture
def cpp_copy(tmp_path) -> Path:
    """The fixture repository plus what must be skipped or reported: a Python file that does not
    parse, a file over the size cap, a binary header."""
    repo = tmp_path / "repo"
    shutil.copytree(CPP_REPO, repo)
    (repo / "bad_syntax.py").write_text("def broken(:\n    pass\n")
    (repo / "src" / "generated.cpp").write_text("int x;\n" * 200_000)  # 1.4 MB
    (repo / "include" / "blob.h").write_bytes(b"\x00\x01binary" * 100)
    return repo


def test_cpp_and_cuda_units_by_tree_sitter_with_file_and_line(cpp_copy):
    units = read_repository(str(cpp_copy))
    native = [u for u in units if u.language != "python"]
    assert [(u.kind, u.name, u.file, u.language) for u in native] == EXPECTED_CPP
    for unit in native:
        line = (cpp_copy / unit.file).read_text().splitlines()[unit.line - 1]
        assert unit.name.rsplit("::", 1)[-1] in line, (unit, line)
    kernel = next(u for u in native if u.name == "softmax_kernel")
    assert kernel.source.startswith("__global__ void softmax_kernel(") and kernel.line == 9
    assert next(u for u in native if u.name == "warp_max").docstring == "Largest value across a warp."
    assert next(u for u in native if u.name == "clamp_value").source.startswith("template <typename T>")
    # Python next to it, through ast.
    py = {u.name: u for u in units if u.language == "python"}
    assert py["AttentionWrapper"].line == 6 and py["AttentionWrapper.forward"].line == 13
    assert py["AttentionWrapper.forward"].source.startswith("    @contextlib.contextmanager")
    assert py["AttentionWrapper.forward"].docstring == "One forward pass."
    assert py["load_weights"].kind == "function" and py["AttentionWrapper.Config"].kind == "class"
    # What does not parse is reported and the rest goes on; vendored/huge/binary files are skipped.
    assert units.problems == [
        "include/blob.h: skipped, binary",
        "src/generated.cpp: skipped, larger than 1024 KiB",
        "bad_syntax.py:1: does not parse as Python (invalid syntax)",
        "src/broken.cpp: syntax errors, 2 units read from the parts that parse",
    ]
    assert not any(u.file.startswith("third_party/") for u in units)


def _zip_with(path: Path, members: list[tuple[str, bytes]], *, link: tuple[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members:
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link[0])
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, link[1])
    return path


@pytest.mark.parametrize("evil", ["../evil.py", "repo/../../evil.py", "/tmp/evil.py"])
def test_zip_path_traversal_is_refused_and_nothing_is_written(tmp_path, evil):
    target = tmp_path / "work"
    target.mkdir()
    archive = _zip_with(target / "repo.zip", [("repo/ok.py", b"def ok():\n    pass\n"), (evil, b"x = 1\n")])
    with pytest.raises(SourceError, match="(path traversal|absolute path)") as err:
        read_repository(str(archive))
    assert "\n" not in str(err.value) and str(err.value).startswith("repo.zip: refused, member")
    assert not (tmp_path / "evil.py").exists() and not Path("/tmp/evil.py").exists()


def test_zip_links_are_skipped(tmp_path):
    archive = _zip_with(
        tmp_path / "repo.zip",
        [("repo/ok.py", b"class Ok:\n    pass\n")],
        link=("repo/passwd.py", "/etc/passwd"),
    )
    units = read_repository(str(archive))
    assert [(u.name, u.file) for u in units] == [("Ok", "ok.py")]


def test_github_url_downloads_the_codeload_zip_once(tmp_path, monkeypatch):
    archive = _zip_folder(CPP_REPO, tmp_path / "x.zip", "cpp_repo-main")
    served = Served(
        {
            "/deepones/cpp_repo/zip/HEAD": archive.read_bytes(),
            "/deepones/cpp_repo/zip/v1.0": archive.read_bytes(),
        }
    )
    with LoopbackServer(served) as server:
        monkeypatch.setenv("DEEPONES_GITHUB_ZIP_URL", server.url)
        # A tag or branch in the URL picks that zip (asked without the 1 s spacing, to keep the test short).
        tagged_zip = github_zip("https://github.com/deepones/cpp_repo/tree/v1.0", min_interval_s=0)
        units = read_repository("https://github.com/deepones/cpp_repo")
        again = read_repository("https://github.com/deepones/cpp_repo.git")  # from the cache
        with pytest.raises(
            SourceError, match=r"GitHub deepones/nothing@HEAD was not found at 127.0.0.1:\d+ \(404\)"
        ):
            read_repository("https://github.com/deepones/nothing")
    assert served.paths() == [
        "/deepones/cpp_repo/zip/v1.0",
        "/deepones/cpp_repo/zip/HEAD",
        "/deepones/nothing/zip/HEAD",
    ]
    # The second request to the host waited for its turn (1 s apart).
    assert served.requests[2][0] - served.requests[1][0] >= 0.95
    assert all("DeepOnes-Studio" in ua for _t, _p, ua in served.requests)
    assert tagged_zip.name == "v1.0.zip" and tagged_zip.read_bytes() == archive.read_bytes()
    assert [u.name for u in units] == [u.name for u in again]
    assert ("class", "AttentionWrapper", "attention.py") in [(u.kind, u.name, u.file) for u in units]


def test_unknown_repository_sources_are_one_line_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceError, match="a repository is a folder, a .zip file or a GitHub URL"):
        read_repository(str(tmp_path / "notes.txt"))
    with pytest.raises(SourceError, match="no such folder or file"):
        read_repository(str(tmp_path / "missing"))
    (tmp_path / "broken.zip").write_bytes(b"PK not really")
    with pytest.raises(SourceError, match="not a readable zip file"):
        read_repository(str(tmp_path / "broken.zip"))
