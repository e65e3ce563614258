"""Check that Qt's xcb platform plugin can load, before Qt tries and aborts.

When a library of ``libqxcb.so`` is missing, Qt prints "xcb-cursor0 or libxcb-cursor0 is needed"
(whatever is actually missing) and aborts with exit 134. This module reads the plugin's needed
libraries straight from its ELF dynamic section, looks for each where the dynamic loader would,
and names the packages that provide the missing ones.

It runs at every GUI start, so it imports no Qt, runs no child on the happy path (``ldd`` costs
~40 ms on a busy machine; reading a few ELF headers and stat-ing files costs ~2 ms) and caches
nothing. Only when something looks missing is ``ldd`` asked to confirm, so a library found by a
route this module does not model (an ``ld.so.cache`` entry outside the configured folders) never
blocks a start.
"""

from __future__ import annotations

import glob
import importlib.util
import os
import re
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path

# soname stem (before ".so") -> (Debian/Ubuntu, Fedora, Arch) package.
_PACKAGES: dict[str, tuple[str, str, str]] = {
    "libxcb-cursor": ("libxcb-cursor0", "xcb-util-cursor", "xcb-util-cursor"),
    "libxcb-icccm": ("libxcb-icccm4", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-ewmh": ("libxcb-ewmh2", "xcb-util-wm", "xcb-util-wm"),
    "libxcb-util": ("libxcb-util1", "xcb-util", "xcb-util"),
    "libxcb-image": ("libxcb-image0", "xcb-util-image", "xcb-util-image"),
    "libxcb-keysyms": ("libxcb-keysyms1", "xcb-util-keysyms", "xcb-util-keysyms"),
    "libxcb-render-util": ("libxcb-render-util0", "xcb-util-renderutil", "xcb-util-renderutil"),
    "libxcb-randr": ("libxcb-randr0", "libxcb", "libxcb"),
    "libxcb-shm": ("libxcb-shm0", "libxcb", "libxcb"),
    "libxcb-sync": ("libxcb-sync1", "libxcb", "libxcb"),
    "libxcb-xfixes": ("libxcb-xfixes0", "libxcb", "libxcb"),
    "libxcb-render": ("libxcb-render0", "libxcb", "libxcb"),
    "libxcb-shape": ("libxcb-shape0", "libxcb", "libxcb"),
    "libxcb-xkb": ("libxcb-xkb1", "libxcb", "libxcb"),
    "libxcb-xinerama": ("libxcb-xinerama0", "libxcb", "libxcb"),
    "libxcb-xinput": ("libxcb-xinput0", "libxcb", "libxcb"),
    "libxcb-glx": ("libxcb-glx0", "libxcb", "libxcb"),
    "libxcb": ("libxcb1", "libxcb", "libxcb"),
    "libxkbcommon-x11": ("libxkbcommon-x11-0", "libxkbcommon-x11", "libxkbcommon-x11"),
    "libxkbcommon": ("libxkbcommon0", "libxkbcommon", "libxkbcommon"),
    "libX11-xcb": ("libx11-xcb1", "libX11-xcb", "libx11"),
    "libX11": ("libx11-6", "libX11", "libx11"),
    "libGL": ("libgl1", "libglvnd-glx", "libglvnd"),
    "libGLX": ("libglx0", "libglvnd-glx", "libglvnd"),
    "libOpenGL": ("libopengl0", "libglvnd-opengl", "libglvnd"),
    "libEGL": ("libegl1", "libglvnd-egl", "libglvnd"),
    "libfontconfig": ("libfontconfig1", "fontconfig", "fontconfig"),
    "libfreetype": ("libfreetype6", "freetype", "freetype2"),
    "libdbus-1": ("libdbus-1-3", "dbus-libs", "dbus"),
    "libglib-2.0": ("libglib2.0-0", "glib2", "glib2"),
    "libgthread-2.0": ("libglib2.0-0", "glib2", "glib2"),
}

_DEFAULT_DIRS = ("/lib64", "/usr/lib64", "/lib", "/usr/lib")


@dataclass
class XcbCheck:
    """What the check found. ``missing`` are sonames; empty means the plugin can load."""

    plugin: str | None
    checked: bool
    missing: list[str] = field(default_factory=list)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return not self.missing

    def to_dict(self) -> dict[str, object]:
        d: dict[str, object] = {"plugin": self.plugin, "checked": self.checked, "ok": self.ok,
                                "missing": self.missing}
        if self.reason:
            d["note"] = self.reason
        if self.missing:
            d["install"] = install_hint(self.missing)
        return d


def packages_for(sonames: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Debian/Ubuntu, Fedora and Arch package names providing ``sonames`` (unknown ones by soname)."""
    deb: list[str] = []
    fed: list[str] = []
    arch: list[str] = []
    for so in sonames:
        stem = so.split(".so")[0]
        names = _PACKAGES.get(stem, (f"<package with {so}>",) * 3)
        for out, name in zip((deb, fed, arch), names, strict=True):
            if name not in out:
                out.append(name)
    return deb, fed, arch


def install_hint(sonames: list[str]) -> str:
    deb, fed, arch = packages_for(sonames)
    return (f"Debian/Ubuntu: sudo apt-get install {' '.join(deb)} | Fedora: sudo dnf install {' '.join(fed)}"
            f" | Arch: sudo pacman -S {' '.join(arch)}")


def message(check: XcbCheck) -> str:
    """The one line the launcher prints."""
    return (f"deepones: Qt's xcb platform plugin cannot load, missing {', '.join(check.missing)}. "
            f"Install: {install_hint(check.missing)} (or start with QT_QPA_PLATFORM=offscreen for no window)")


def uses_xcb(env: os._Environ[str] | dict[str, str] | None = None) -> bool:
    """Whether Qt would pick its xcb plugin: Linux, DISPLAY set, and no other platform asked for."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux") or not env.get("DISPLAY"):
        return False
    asked = env.get("QT_QPA_PLATFORM", "").strip()
    if asked:
        return asked.split(";")[0].split(":")[0] == "xcb"
    # Qt 6 prefers Wayland in a Wayland session; xcb is its fallback there.
    return not (env.get("XDG_SESSION_TYPE") == "wayland" and env.get("WAYLAND_DISPLAY"))


def plugin_path(env: os._Environ[str] | dict[str, str] | None = None) -> Path | None:
    """The ``libqxcb.so`` Qt would load: ``QT_QPA_PLATFORM_PLUGIN_PATH`` first (as Qt does), else PySide6's."""
    env = os.environ if env is None else env
    for folder in filter(None, env.get("QT_QPA_PLATFORM_PLUGIN_PATH", "").split(os.pathsep)):
        candidate = Path(folder) / "libqxcb.so"
        if candidate.is_file():
            return candidate
    # find_spec of a top-level package reads no module code: PySide6 stays unimported.
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(list(spec.submodule_search_locations)[0]) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return candidate if candidate.is_file() else None


def _dynamic(path: Path) -> tuple[list[str], list[str]]:
    """DT_NEEDED names and RUNPATH/RPATH folders of an ELF file (little-endian, 32 or 64 bit)."""
    with open(path, "rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[5] != 1:
            return [], []
        is64 = ident[4] == 2
        if is64:
            phoff, phentsize, phnum = struct.unpack_from("<Q", ident, 32)[0], *struct.unpack_from("<HH", ident, 54)
        else:
            phoff, phentsize, phnum = struct.unpack_from("<I", ident, 28)[0], *struct.unpack_from("<HH", ident, 42)
        f.seek(phoff)
        table = f.read(phentsize * phnum)
        loads: list[tuple[int, int, int]] = []
        dyn_off = dyn_size = 0
        for i in range(phnum):
            base = i * phentsize
            if is64:
                p_type, _fl, p_off, p_vaddr, _pa, p_filesz = struct.unpack_from("<IIQQQQ", table, base)
            else:
                p_type, p_off, p_vaddr, _pa, p_filesz = struct.unpack_from("<IIIII", table, base)
            if p_type == 1:
                loads.append((p_vaddr, p_off, p_filesz))
            elif p_type == 2:
                dyn_off, dyn_size = p_off, p_filesz
        f.seek(dyn_off)
        raw = f.read(dyn_size)
        fmt, step = ("<qQ", 16) if is64 else ("<iI", 8)
        needed: list[int] = []
        paths: list[int] = []
        strtab = 0
        for base in range(0, len(raw) - step + 1, step):
            tag, val = struct.unpack_from(fmt, raw, base)
            if tag == 0:
                break
            if tag == 1:
                needed.append(val)
            elif tag in (15, 29):  # DT_RPATH, DT_RUNPATH
                paths.append(val)
            elif tag == 5:
                strtab = val
        for vaddr, off, size in loads:  # DT_STRTAB is an address: map it back to a file offset
            if vaddr <= strtab < vaddr + size:
                strtab = strtab - vaddr + off
                break

        def string(at: int) -> str:
            f.seek(strtab + at)
            return f.read(256).split(b"\0", 1)[0].decode(errors="replace")

        origin = str(path.parent)
        folders = [p.replace("$ORIGIN", origin).replace("${ORIGIN}", origin)
                   for r in paths for p in string(r).split(":") if p]
        return [string(n) for n in needed], folders


def _system_dirs() -> list[str]:
    """Folders from /etc/ld.so.conf (with its includes), then the loader's defaults."""
    found: list[str] = []

    def read(conf: str) -> None:
        try:
            lines = Path(conf).read_text().splitlines()
        except OSError:
            return
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if line.startswith("include "):
                for inc in sorted(glob.glob(line.split(None, 1)[1])):
                    read(inc)
            elif line:
                found.append(line)

    read("/etc/ld.so.conf")
    return found + list(_DEFAULT_DIRS)


def _find(name: str, search: list[str]) -> Path | None:
    for folder in search:
        candidate = Path(folder) / name
        if candidate.exists():
            return candidate
    return None


def _missing_by_elf(plugin: Path) -> list[str]:
    """Needed libraries of the plugin, and of the Qt libraries it pulls from its own Qt folder, not found."""
    env_dirs = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    system = _system_dirs()
    missing: list[str] = []
    seen: set[str] = set()
    todo = [plugin]
    qt_root = plugin.resolve().parents[2]  # .../Qt/plugins/platforms/libqxcb.so -> .../Qt
    while todo:
        current = todo.pop()
        needed, runpath = _dynamic(current)
        for name in needed:
            if name in seen:
                continue
            seen.add(name)
            where = _find(name, env_dirs + runpath + system)
            if where is None:
                missing.append(name)
            elif name.startswith("libQt6") and qt_root in where.resolve().parents:
                todo.append(where)  # Qt's own libraries need xcb/GL libraries too
    return missing


def _confirmed_by_ldd(plugin: Path, suspects: list[str]) -> list[str] | None:
    """The suspects ``ldd`` also reports "not found"; None when ldd cannot tell."""
    import subprocess  # only on the unhappy path: the start stays fast

    try:
        out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=20,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    not_found = set(re.findall(r"^\s*(\S+)\s+=>\s+not found", out.stdout, re.MULTILINE))
    if out.returncode != 0 and not not_found:
        return None
    return [s for s in suspects if s in not_found] + sorted(not_found - set(suspects))


def check(plugin: Path | None = None) -> XcbCheck:
    """Whether ``plugin`` (default: the one Qt would load) has all its libraries."""
    plugin = plugin or plugin_path()
    if plugin is None:
        return XcbCheck(None, False, reason="no libqxcb.so found (PySide6 not installed?)")
    try:
        suspects = _missing_by_elf(plugin)
    except (OSError, struct.error, IndexError) as exc:
        return XcbCheck(str(plugin), False, reason=f"could not read the plugin: {exc}")
    if not suspects:
        return XcbCheck(str(plugin), True)
    confirmed = _confirmed_by_ldd(plugin, suspects)
    if confirmed is None:  # no ldd: trust the file search
        return XcbCheck(str(plugin), True, suspects, reason="ldd unavailable; found by searching the loader's folders")
    return XcbCheck(str(plugin), True, confirmed)


def check_before_gui() -> str | None:
    """The one-line message when the GUI would abort in Qt's xcb plugin; None when it can start."""
    if not uses_xcb():
        return None
    result = check()
    return None if result.ok else message(result)
