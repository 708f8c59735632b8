"""Every observation of a reconstruction as flat arrays, for fast reprojection errors.

pycolmap hands out observations one Python object at a time, which costs seconds on a
120-frame plate; the arrays cost milliseconds to project.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pycolmap

from ingest_service.camera.lens import Lens


@dataclass
class Observations:
    image_ids: np.ndarray  # int64 per observation
    point2d: np.ndarray  # index among the image's keypoints
    point3d: np.ndarray  # the 3D point's id
    xy: np.ndarray  # (n, 2) where it was seen, COLMAP pixel convention

    @classmethod
    def of(cls, rec: pycolmap.Reconstruction) -> Observations:
        rows: list[tuple[int, int, int, float, float]] = []
        for image_id in sorted(rec.images):
            image = rec.images[image_id]
            for index in image.get_observation_point2D_idxs():
                point = image.points2D[int(index)]
                rows.append((image_id, int(index), point.point3D_id, *point.xy))
        table = np.array(rows, dtype=float).reshape(-1, 5)
        ints = table[:, :3].astype(np.int64)
        return cls(ints[:, 0], ints[:, 1], ints[:, 2], table[:, 3:])

    def errors(self, rec: pycolmap.Reconstruction) -> np.ndarray:
        """Reprojection error per observation in pixels (infinite behind the camera)."""
        if not len(self.image_ids):
            return np.zeros(0)
        camera = rec.cameras[1]
        lens = Lens.from_colmap(camera.model.name, list(camera.params))
        images, image_rows = np.unique(self.image_ids, return_inverse=True)
        points, point_rows = np.unique(self.point3d, return_inverse=True)
        rotations = np.empty((len(images), 3, 3))
        translations = np.empty((len(images), 3))
        for i, image_id in enumerate(images):
            pose = rec.images[int(image_id)].cam_from_world()
            rotations[i] = pose.rotation.matrix()
            translations[i] = pose.translation
        xyz = np.array([rec.points3D[int(p)].xyz for p in points]).reshape(-1, 3)
        local = np.einsum("nij,nj->ni", rotations[image_rows], xyz[point_rows])
        local += translations[image_rows]
        depth = local[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            projected = lens.to_pixels(lens.distort_normalised(local[:, :2] / depth[:, None]))
        error = np.linalg.norm(projected - self.xy, axis=1)
        return np.where((depth > 0) & np.isfinite(error), error, np.inf)

    @classmethod
    def concatenate(cls, parts: list[Observations]) -> Observations:
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))

    def where(self, keep: np.ndarray) -> Observations:
        return Observations(
            self.image_ids[keep], self.point2d[keep], self.point3d[keep], self.xy[keep]
        )

    def drop(self, rec: pycolmap.Reconstruction, bad: np.ndarray) -> Observations:
        """Delete the `bad` observations from `rec`; the observations that remain (COLMAP
        deletes a point left with fewer than two, and with it its last observation)."""
        for image_id, index in zip(self.image_ids[bad], self.point2d[bad], strict=True):
            if rec.images[int(image_id)].points2D[int(index)].has_point3D():
                rec.delete_observation(int(image_id), int(index))
        kept = self.where(~bad)
        alive = np.array([rec.exists_point3D(int(p)) for p in np.unique(kept.point3d)], bool)
        return kept.where(np.isin(kept.point3d, np.unique(kept.point3d)[alive]))
