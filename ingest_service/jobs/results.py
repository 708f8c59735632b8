"""Typed results that stages record in the job and the manifest repeats."""

from __future__ import annotations

from fractions import Fraction
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class Rational(BaseModel):
    """An exact ratio (frame rates like 24000/1001 must not be rounded)."""

    num: int
    den: int = Field(gt=0)

    @classmethod
    def of(cls, value: Fraction) -> Rational:
        return cls(num=value.numerator, den=value.denominator)

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)

    def __float__(self) -> float:
        return self.num / self.den


class OutputFile(BaseModel):
    """One published file: enough for a downstream tool to fetch and verify it."""

    key: str
    size: int
    sha256: str
    media_type: str
    role: str
    frame: int | None = None


class FrameRange(BaseModel):
    first: int
    last: int


class SequenceInfo(BaseModel):
    """An image sequence as compositing tools address it."""

    name: str
    prefix: str
    printf_pattern: str = Field(description="e.g. frame.%04d.png, relative to prefix")
    hash_pattern: str = Field(description="e.g. frame.####.png, as Nuke's Read node writes it")
    frame_range: FrameRange
    count: int
    media_type: str
    width: int
    height: int
    bit_depth: int
    channels: str
    transfer: str = Field(description="transfer function of the pixel values, e.g. rec709, linear")


class ProbeResult(BaseModel):
    kind: Literal["probe"] = "probe"

    def outputs(self) -> list[OutputFile]:
        return []

    def sequences(self) -> list[SequenceInfo]:
        return []

    def summary(self) -> dict[str, Any]:
        return {}

    container: str
    codec: str
    profile: str | None
    pixel_format: str
    bit_depth: int
    coded_width: int
    coded_height: int
    rotation: int = Field(description="degrees counter-clockwise applied to display the picture")
    width: int = Field(description="displayed width, after rotation")
    height: int = Field(description="displayed height, after rotation")
    pixel_aspect: Rational
    fps: Rational
    frame_count: int
    frame_count_exact: bool = Field(description="the container indexes every frame")
    duration_s: float
    timecode: str | None
    color_primaries: str | None
    color_transfer: str | None
    color_space: str | None
    has_audio: bool
    size: int
    sha256: str


class FramesResult(BaseModel):
    kind: Literal["frames"] = "frames"
    sequence: SequenceInfo
    thumbnail: OutputFile
    files: list[OutputFile]

    def outputs(self) -> list[OutputFile]:
        return [*self.files, self.thumbnail]

    def sequences(self) -> list[SequenceInfo]:
        return [self.sequence]

    def summary(self) -> dict[str, Any]:
        return {"frames": self.sequence.count, "frame_range": self.sequence.frame_range}


class CameraResult(BaseModel):
    kind: Literal["camera"] = "camera"
    solve: str = Field(description="full, rotation_only or static")
    frames: int
    registered: int
    interpolated: int
    reprojection_error_px: float | None
    points: int
    focal_length_px: float
    focal_source: str = Field(description="solved, hint (from the sidecar) or assumed")
    split_models: list[int]
    timings_s: dict[str, float]
    files: list[OutputFile]
    review: Literal["ok"] | list[str] = Field(
        default="ok", description='"ok", or why an artist should check the solve, in words'
    )
    evidence: dict[str, Any] | None = Field(
        default=None, description="what the solve measured about itself (see camera.json)"
    )

    def outputs(self) -> list[OutputFile]:
        return list(self.files)

    def sequences(self) -> list[SequenceInfo]:
        return []

    def summary(self) -> dict[str, Any]:
        return self.model_dump(exclude={"kind", "files"})


class DepthResult(BaseModel):
    kind: Literal["depth"] = "depth"
    depth_kind: str = Field(description="z-depth: distance along the camera's view axis")
    units: str
    backend: str = "plane-sweep-stereo (classical)"
    aligned_to_solve: bool = Field(
        default=True, description="depth is in the camera solve's units and frame"
    )
    near: float = Field(description="the preview's white point (nearer is clipped)")
    far: float = Field(description="the preview's black point")
    unreliable_fraction: float = Field(description="share of pixels filled, not measured")
    alignment: dict[str, Any] | None = Field(
        default=None, description="how a model's relative depth was fitted to the solve"
    )
    depth: SequenceInfo
    preview: SequenceInfo
    confidence: SequenceInfo
    raw: SequenceInfo | None = Field(
        default=None, description="the model's unaligned relative inverse depth, if kept"
    )
    geometry: str = Field(
        default="plate", description="plate, or undistorted (measured through the solved lens)"
    )
    redistort_stmap: str | None = Field(
        default=None, description="the ST-map that puts undistorted depth back on the plate"
    )
    files: list[OutputFile]

    def outputs(self) -> list[OutputFile]:
        return list(self.files)

    def sequences(self) -> list[SequenceInfo]:
        seqs = [self.depth, self.preview, self.confidence]
        return seqs + ([self.raw] if self.raw else [])

    def summary(self) -> dict[str, Any]:
        return self.model_dump(
            include={
                "depth_kind",
                "units",
                "backend",
                "aligned_to_solve",
                "near",
                "far",
                "unreliable_fraction",
                "alignment",
                "geometry",
                "redistort_stmap",
            }
        )


class MaskLabel(BaseModel):
    """One folder under masks/: a prompt's combined mask, and its instances' masks."""

    label: str = Field(description="the folder name under masks/")
    prompt: str | None = Field(description="the text prompt; null for the classical backend")
    combined: SequenceInfo
    instances: list[SequenceInfo] = Field(
        default_factory=list, description="one sequence per tracked instance, in its folder"
    )
    coverage: float = Field(description="mean share of the frame inside the combined mask")


class MasksResult(BaseModel):
    kind: Literal["masks"] = "masks"
    backend: str
    prompts: list[str] = Field(description="the prompts asked for")
    prompts_honoured: bool = Field(description="false when the backend cannot read prompts")
    note: str | None = None
    labels: list[MaskLabel]
    files: list[OutputFile]

    def outputs(self) -> list[OutputFile]:
        return list(self.files)

    def sequences(self) -> list[SequenceInfo]:
        return [s for label in self.labels for s in (label.combined, *label.instances)]

    def summary(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "prompts": self.prompts,
            "prompts_honoured": self.prompts_honoured,
            "note": self.note,
            "labels": {
                label.label: {
                    "prompt": label.prompt,
                    "instances": len(label.instances),
                    "coverage": label.coverage,
                }
                for label in self.labels
            },
        }


StageResult = Annotated[
    ProbeResult | FramesResult | CameraResult | DepthResult | MasksResult,
    Field(discriminator="kind"),
]
