"""Build the Autopsy module's zip: the FaceXray folder as it goes into Autopsy's python_modules.

Usage: python integrations/autopsy/build_zip.py OUTPUT.zip

Only the module's own files go in (its .py files, the example settings and
the README); compiled Jython classes and a local facexray_settings.json,
which holds one machine's paths, stay out.
"""

import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODULE = HERE / "FaceXray"


def build(output: Path) -> list[str]:
    """Write the zip to ``output`` and return the names inside it."""
    members = sorted(MODULE.glob("*.py")) + [MODULE / "facexray_settings.example.json"]
    names = []
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in members:
            names.append(f"{MODULE.name}/{path.name}")
            bundle.write(path, names[-1])
        names.append(f"{MODULE.name}/README.md")
        bundle.write(HERE / "README.md", names[-1])
    return names


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    for name in build(Path(sys.argv[1])):
        print(name)
