"""The vendored standards data: each folder has its sources and licence, and (where the
organisation's shared folder is present) is a byte-identical copy of the master files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.standards import DIGITAL_LINK, EPCIS_HASH, FSMA204, HERE, shared

# What the shared folders hold that was deliberately not copied (no test reads it).
NOT_COPIED = {"SOURCES.md", "NOTES.md", "gs1-syntax-dictionary.txt"}
# folder here -> (licence file, folder in ../shared/standards)
FOLDERS = {
    DIGITAL_LINK: ("LICENSE-Apache-2.0.txt", "digital-link"),
    EPCIS_HASH: ("LICENSE-MIT.txt", "epcis-hash"),
    FSMA204: (None, "fsma204"),
}


def _data_files(folder: Path) -> list[Path]:
    skip = {"SOURCES.md", "LICENSE-MIT.txt"}  # ours: the shared folder keeps them elsewhere
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in skip)


@pytest.mark.parametrize("folder", list(FOLDERS), ids=lambda p: p.name)
def test_vendored_folder_says_where_it_came_from(folder: Path) -> None:
    licence, name = FOLDERS[folder]
    sources = (folder / "SOURCES.md").read_text(encoding="utf-8")
    assert f"shared/standards/{name}" in sources
    if licence:
        assert (folder / licence).stat().st_size > 1000
    assert _data_files(folder)


@pytest.mark.parametrize("folder", list(FOLDERS), ids=lambda p: p.name)
def test_vendored_files_equal_the_shared_master_copies_when_present(folder: Path) -> None:
    master = shared(FOLDERS[folder][1])
    if master is None:  # outside the organisation: the vendored copy is all there is
        return
    for path in _data_files(folder):
        relative = path.relative_to(folder)
        assert path.read_bytes() == (master / relative).read_bytes(), relative
    left_out = {
        p.relative_to(master)
        for p in master.rglob("*")
        if p.is_file() and p.name not in NOT_COPIED and p.suffix != ".xml"
    }
    assert left_out <= {p.relative_to(folder) for p in _data_files(folder)}


def test_no_gs1_epcis_file_is_vendored() -> None:
    """The gs1/EPCIS schema, context and examples are not openly licensed: never copy them."""
    names = {p.name for p in HERE.rglob("*") if p.is_file()}
    assert not names & {"EPCIS-JSON-Schema.json", "epcis-context.jsonld"}
    assert not {n for n in names if n.startswith(("ObjectEvent_Example", "AssociationEvent-a"))}
