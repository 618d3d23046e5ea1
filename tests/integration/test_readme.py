"""test_readme.py -- the README's "Source code layout" names every source file in the section of
its own folder (src/<stage>/), each file opens with the one-line statement of its job, and the
files the layout marks pure are exactly those the build puts in enmon_pure."""
import glob
import os
import re

import harness


def layout_sections(readme):
    """{folder: text of its section} for the `src/...`: sections of the layout."""
    layout = readme[readme.index("## Source code layout"):]
    parts = re.split(r"^`((?:src|simulators)/[a-z_]*/?)`", layout, flags=re.M)
    return {parts[i].rstrip("/"): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def test_every_source_file_is_in_its_folders_section():
    root = harness.source_dir()
    sections = layout_sections(read(os.path.join(root, "README.md")))
    missing = []
    paths = (glob.glob(os.path.join(root, "src", "**", "*.c"), recursive=True) +
             glob.glob(os.path.join(root, "simulators", "*.c")))
    assert len(paths) > 60
    for path in sorted(paths):
        folder = os.path.relpath(os.path.dirname(path), root)
        name = os.path.basename(path)
        if "`%s" % name not in sections.get(folder, ""):
            missing.append(os.path.relpath(path, root))
        first = read(path).splitlines()[0]
        assert first.startswith("/* %s -- " % name), (name, first)
    assert not missing, "not in their folder's section of the README layout: %s" % missing


def test_pure_marks_match_the_pure_library():
    """A file is marked (**pure**) in the README exactly when its folder's CMakeLists.txt adds it
    to enmon_pure."""
    root = harness.source_dir()
    sections = layout_sections(read(os.path.join(root, "README.md")))
    in_build, marked = set(), set()
    for cm in glob.glob(os.path.join(root, "src", "*", "CMakeLists.txt")):
        folder = os.path.relpath(os.path.dirname(cm), root)
        m = re.search(r"target_sources\(enmon_pure PRIVATE ([^)]*)\)", read(cm))
        if m:
            in_build |= {folder + "/" + f.split(".")[0] for f in m.group(1).split()}
        for row in re.findall(r"^\| `([a-z_]+)[^`]*` \|.*\*\*pure\*\*", sections[folder], re.M):
            marked.add(folder + "/" + row)
    marked.discard("src/modbus/sunspec_defs")  # the generated tables' header
    assert in_build and marked == in_build, (sorted(marked - in_build), sorted(in_build - marked))
