"""test_readme.py -- the README's "Source code layout" names every source file, and each file
opens with the one-line statement of its job that the layout repeats."""
import glob
import os

import harness


def test_every_source_file_is_in_the_readme_layout():
    root = harness.source_dir()
    with open(os.path.join(root, "README.md"), encoding="utf-8") as fh:
        readme = fh.read()
    layout = readme[readme.index("## Source code layout"):]
    missing = []
    for path in sorted(glob.glob(os.path.join(root, "src", "*.c")) +
                       glob.glob(os.path.join(root, "simulators", "*.c"))):
        name = os.path.basename(path)
        if "`%s" % name not in layout:
            missing.append(name)
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
        assert first.startswith("/* %s -- " % name), (name, first)
    assert not missing, "not in the README's Source code layout: %s" % missing
