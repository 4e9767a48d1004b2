"""Template folders: layout, file prefixes, contrasts and ``info_label.txt`` files.

A template folder (the PAM50, or a custom one such as ``sct_testing_data/template``) holds a
``template/`` subfolder with ``<prefix>_cord.nii.gz``, ``<prefix>_label_disc.nii.gz``,
``<prefix>_levels.nii.gz``, contrast images ``<prefix>_t1/t2/t2s.nii.gz`` and an
``info_label.txt``, and optionally an ``atlas/`` subfolder (white-matter atlas). The prefix
(``PAM50``, ``PAM50_small``...) is detected from the cord file.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: default -param of the registration to a template (sct_register_to_template)
DEFAULT_REGISTRATION_PARAM = (
    "step=1,type=imseg,algo=centermassrot:step=2,type=seg,algo=bsplinesyn,metric=MeanSquares,"
    "iter=3,smooth=1,gradStep=0.5,slicewise=0")

#: template contrasts available to ``-c`` and the file suffix of each
CONTRASTS = ("t1", "t2", "t2s")

#: label files matched by each label option of sct_register_to_template (first existing wins)
LABEL_FILES = {
    # -l: mid-vertebral labels, derived from the vertebral levels (centre of each level)
    "body": ("levels",),
    "disc": ("label_disc",),
    "spinal": ("spinal_midpoint", "spinal_midpoints"),
    "rootlet": ("rootlets_midpoint", "rootlets_midpoints"),
}


class TemplateError(ValueError):
    """A template folder or file is missing or malformed."""


@dataclass
class Template:
    root: Path     # folder holding template/ (and atlas/)
    prefix: str    # e.g. "PAM50" or "PAM50_small"

    @property
    def template_dir(self) -> Path:
        return self.root / "template"

    @property
    def atlas_dir(self) -> Path:
        return self.root / "atlas"

    def path(self, key: str, required=True) -> Path | None:
        """``template/<prefix>_<key>.nii.gz``; a clear error if required and missing."""
        p = self.template_dir / f"{self.prefix}_{key}.nii.gz"
        if not p.is_file():
            if required:
                raise TemplateError(f"The template has no '{key}' file: {p} not found")
            return None
        return p

    def contrast(self, contrast: str) -> Path:
        """The template image of a contrast (t1/t2/t2s), or an error saying how to get it."""
        if contrast not in CONTRASTS:
            from spinalcordtoolbox.utils.cli import choice_error
            raise choice_error("contrast", contrast, CONTRASTS)
        p = self.template_dir / f"{self.prefix}_{contrast}.nii.gz"
        if not p.is_file():
            raise TemplateError(
                f"The template contrast {p.name} is not available in {self.template_dir} "
                f"(it is not part of the offline copy). Install the full template with "
                f"'sct_download_data -d PAM50 -overwrite' on a machine with network access, or use "
                f"a contrast present in the folder "
                f"({', '.join(self.available_contrasts()) or 'none'}) with -c.")
        return p

    def available_contrasts(self) -> list[str]:
        return [c for c in CONTRASTS if (self.template_dir / f"{self.prefix}_{c}.nii.gz").is_file()]

    def label_file(self, kind: str) -> Path:
        for key in LABEL_FILES[kind]:
            p = self.path(key, required=False)
            if p is not None:
                return p
        raise TemplateError(
            f"The template has no {kind} label file ({', '.join(f'{self.prefix}_{k}.nii.gz' for k in LABEL_FILES[kind])}) "
            f"in {self.template_dir}")


def load_template(folder=None) -> Template:
    """The template in ``folder`` (its root or its ``template/`` subfolder); default PAM50."""
    if folder is None:
        from spinalcordtoolbox.download import locate
        folder = locate("PAM50")
    root = Path(folder)
    if not (root / "template").is_dir() and root.name == "template":
        root = root.parent
    tdir = root / "template"
    if not tdir.is_dir():
        raise TemplateError(f"Not a template folder (no 'template/' subfolder): {folder}")
    cords = sorted(tdir.glob("*_cord.nii.gz"))
    if not cords:
        raise TemplateError(f"No '<prefix>_cord.nii.gz' file in {tdir}: cannot detect the template")
    return Template(root=root, prefix=cords[0].name[: -len("_cord.nii.gz")])


# ------------------------------------------------------------------ info_label.txt
@dataclass
class InfoLabel:
    labels: list          # [(id, name, file)]
    combined: list        # [(id, name, "0:35" / "1,2")]
    map_clusters: list    # [(name, "0:29")]
    header: str = ""


def read_info_label(path) -> InfoLabel:
    """Parse an ``info_label.txt`` (sections announced by ``# Keyword=...`` lines)."""
    section = None
    labels, combined, clusters = [], [], []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        m = re.match(r"#\s*Keyword=(\w+)", stripped)
        if m:
            section = m.group(1)
            continue
        if not stripped or stripped.startswith("#"):
            continue
        parts = [p.strip() for p in stripped.split(",")]
        if section == "IndivLabels" and len(parts) >= 3:
            labels.append((int(parts[0]), ", ".join(parts[1:-1]), parts[-1]))
        elif section == "CombinedLabels" and len(parts) >= 3:
            combined.append((int(parts[0]), ", ".join(parts[1:-1]), parts[-1]))
        elif section == "MAPLabels" and len(parts) >= 2:
            clusters.append((", ".join(parts[:-1]), parts[-1]))
    return InfoLabel(labels, combined, clusters)


def format_info_label(info: InfoLabel, title="Template labels") -> str:
    """Text of an ``info_label.txt`` with the same sections as the template's."""
    out = [f"# {title}", "# Keyword=IndivLabels (Please DO NOT change this line)", "# ID, name, file"]
    out += [f"{i}, {name}, {f}" for i, name, f in info.labels]
    if info.combined:
        out += ["", "# Combined labels", "# Keyword=CombinedLabels (Please DO NOT change this line)",
                "# ID, name, IDgroup"]
        out += [f"{i}, {name}, {g}" for i, name, g in info.combined]
    if info.map_clusters:
        out += ["", "# Clusters used for the first step of the MAP estimation (for advanced users only)",
                "# Keyword=MAPLabels (Please DO NOT change this line)", "# Name, IDgroup"]
        out += [f"{name}, {g}" for name, g in info.map_clusters]
    return "\n".join(out) + "\n"


#: where sct_warp_template writes the warped vertebral levels (relative to the working folder):
#: the established toolbox's default -vertfile
WARPED_LEVELS = Path("label") / "template" / "PAM50_levels.nii.gz"


def find_warped_levels(*near) -> Path | None:
    """The warped template's vertebral levels (``label/template/PAM50_levels.nii.gz``) in the
    working folder, else beside any of ``near`` (e.g. the input segmentation); None if absent."""
    folders = [Path.cwd()] + [Path(p).resolve().parent for p in near if p]
    for folder in folders:
        if (folder / WARPED_LEVELS).is_file():
            return folder / WARPED_LEVELS
    return None
