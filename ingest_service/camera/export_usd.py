"""camera.usda: a time-sampled USD camera that Nuke, Houdini and Blender open directly."""

from __future__ import annotations

import numpy as np
from pxr import Gf, Sdf, Usd, UsdGeom, Vt

from ingest_service.camera.geometry import gl_from_cv
from ingest_service.camera.solution import DISTORTION_TERMS, CameraSolution
from ingest_service.camera.stmap import STMAP_REDISTORT, STMAP_UNDISTORT

# USD lens values are in tenths of a scene unit; with centimetres as the unit (the DCC
# default) they read as millimetres, which is what every camera panel shows.
METERS_PER_UNIT = 0.01
DEFAULT_SENSOR_WIDTH_MM = 36.0
# UsdGeomCamera has no lens-distortion attributes (usd-core 26.11 ships no schema for it),
# so the lens goes in custom attributes under one namespace.
LENS = "ingest:lens:"


def camera_usda(
    solution: CameraSolution, *, sensor_width_mm: float | None = None, fps: float | None = None
) -> bytes:
    width_mm = sensor_width_mm or DEFAULT_SENSOR_WIDTH_MM
    k = solution.intrinsics
    mm_per_px = width_mm / solution.width
    stage = Usd.Stage.CreateInMemory()
    UsdGeom.SetStageUpAxis(stage, UsdGeom.Tokens.y)
    UsdGeom.SetStageMetersPerUnit(stage, METERS_PER_UNIT)
    rate = fps or solution.fps or 24.0
    stage.SetTimeCodesPerSecond(rate)
    stage.SetFramesPerSecond(rate)
    stage.SetStartTimeCode(solution.frames[0].frame)
    stage.SetEndTimeCode(solution.frames[-1].frame)
    root = UsdGeom.Xform.Define(stage, "/solve")
    stage.SetDefaultPrim(root.GetPrim())
    camera = UsdGeom.Camera.Define(stage, "/solve/camera")
    camera.CreateProjectionAttr(UsdGeom.Tokens.perspective)
    camera.CreateFocalLengthAttr(k.fx * mm_per_px)
    camera.CreateHorizontalApertureAttr(width_mm)
    camera.CreateVerticalApertureAttr(solution.height * mm_per_px * k.fx / k.fy)
    camera.CreateHorizontalApertureOffsetAttr((k.cx - solution.width / 2) * mm_per_px)
    camera.CreateVerticalApertureOffsetAttr(-(k.cy - solution.height / 2) * mm_per_px)
    op = camera.AddTransformOp()
    for frame in solution.frames:
        # USD multiplies row vectors: its matrix is the transpose of ours.
        op.Set(Gf.Matrix4d(gl_from_cv(frame.c2w).T.tolist()), Usd.TimeCode(frame.frame))
    prim = camera.GetPrim()
    prim.SetCustomDataByKey("ingest:solve_kind", str(solution.kind))
    prim.SetCustomDataByKey(
        "ingest:interpolated_frames",
        Vt.IntArray([f.frame for f in solution.frames if f.status == "interpolated"]),
    )
    _lens_attributes(prim, solution)
    text: str = stage.GetRootLayer().ExportToString()
    return text.encode()


def _lens_attributes(prim: Usd.Prim, solution: CameraSolution) -> None:
    """The solved lens as custom attributes: COLMAP model and params (pixels), the
    Brown-Conrady terms, the image size they are for, and the ST-maps beside this file."""
    k = solution.intrinsics

    def add(name: str, kind: Sdf.ValueTypeName, value: object, doc: str) -> None:
        attr = prim.CreateAttribute(LENS + name, kind, custom=True)
        attr.Set(value)
        attr.SetDocumentation(doc)

    add("model", Sdf.ValueTypeNames.Token, k.model, "COLMAP camera model of the solve")
    add(
        "params",
        Sdf.ValueTypeNames.DoubleArray,
        Vt.DoubleArray(k.params),
        "the model's parameters in COLMAP's order; focal lengths and centre in pixels",
    )
    add(
        "resolution",
        Sdf.ValueTypeNames.Int2,
        Gf.Vec2i(solution.width, solution.height),
        "the image size in pixels the params are for",
    )
    for term in DISTORTION_TERMS:
        add(
            term,
            Sdf.ValueTypeNames.Double,
            getattr(k, term),
            "Brown-Conrady distortion term, OpenCV/COLMAP convention",
        )
    if k.lens.distorted:
        add(
            "stmapUndistort",
            Sdf.ValueTypeNames.Asset,
            Sdf.AssetPath(f"./{STMAP_UNDISTORT}"),
            "Nuke ST-map: the plate to the undistorted (pinhole) image",
        )
        add(
            "stmapRedistort",
            Sdf.ValueTypeNames.Asset,
            Sdf.AssetPath(f"./{STMAP_REDISTORT}"),
            "Nuke ST-map: an undistorted render to the plate's lens",
        )


def read_usda_camera(data: bytes) -> tuple[dict[int, np.ndarray], float, float]:
    """Camera-to-world (OpenGL axes) per frame, focal length and horizontal aperture."""
    layer = Sdf.Layer.CreateAnonymous(".usda")
    layer.ImportFromString(data.decode())
    stage = Usd.Stage.Open(layer)
    camera = UsdGeom.Camera(stage.GetPrimAtPath("/solve/camera"))
    xform = UsdGeom.Xformable(camera.GetPrim())
    frames = {}
    for time in xform.GetTimeSamples():
        matrix = xform.GetLocalTransformation(Usd.TimeCode(time))
        frames[int(time)] = np.array(matrix).T
    return frames, camera.GetFocalLengthAttr().Get(), camera.GetHorizontalApertureAttr().Get()
