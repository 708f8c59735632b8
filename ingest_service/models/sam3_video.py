"""SAM 3 video through transformers: text prompts in, tracked instance masks out.

Frames are streamed into an inference session one at a time (the model's streaming
mode), so a session holds only what its tracker needs, never the whole plate. Frames
are resized and normalised on the model's device in torch; SAM 3's image processor
would pull in torchvision for that.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ingest_service.models.runtime import (
    Normalise,
    Runtime,
    loaded_once,
    model_input,
    pretrained,
    require_torch,
)


@dataclass(frozen=True)
class Instance:
    prompt: str
    object_id: int  # the session's id; callers map it to a plate-wide one
    score: float
    mask: np.ndarray  # bool, frame height x width


class Sam3Session:
    """One run of the tracker over consecutive frames, with its prompts."""

    def __init__(self, owner: Sam3Video, session: Any, height: int, width: int) -> None:
        self.owner = owner
        self.session = session
        self.height = height
        self.width = width

    def track(self, rgb: np.ndarray) -> list[Instance]:
        return self.owner.track(self, rgb)


@dataclass(eq=False)
class Sam3Video:
    model: Any
    tokenizer: Any
    runtime: Runtime
    normalise: Normalise

    @property
    def image_size(self) -> int:
        return int(self.model.config.image_size)

    @classmethod
    def load(cls, folder: Path, runtime: Runtime) -> Sam3Video:
        def build() -> Sam3Video:
            model = pretrained("Sam3VideoModel", folder, runtime)
            from transformers import AutoTokenizer  # importable: `pretrained` checked

            tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
            return cls(model, tokenizer, runtime, Normalise().of_snapshot(folder))

        return loaded_once(("sam3-video", str(folder), runtime), build)

    def start(self, prompts: list[str], height: int, width: int) -> Sam3Session:
        require_torch()
        from transformers.models.sam3_video.modeling_sam3_video import (
            Sam3VideoInferenceSession,
        )

        device = self.runtime.device
        session = Sam3VideoInferenceSession(
            video_height=height,
            video_width=width,
            inference_device=device,
            inference_state_device=device,
            video_storage_device=device,
            dtype=self.runtime.dtype,
        )
        for prompt in prompts:
            prompt_id = session.add_prompt(prompt)
            if prompt_id in session.prompt_input_ids:
                continue
            encoded = self.tokenizer(
                prompt,
                return_tensors="pt",
                padding="max_length",
                max_length=32,
                truncation=True,
            )
            session.prompt_input_ids[prompt_id] = encoded.input_ids.to(device)
            session.prompt_attention_masks[prompt_id] = encoded.attention_mask.to(device)
        return Sam3Session(self, session, height, width)

    def track(self, run: Sam3Session, rgb: np.ndarray) -> list[Instance]:
        torch = require_torch()
        size, session = self.image_size, run.session
        with torch.inference_mode():
            x = model_input(
                rgb[None],
                (size, size),
                mode="bilinear",
                normalise=self.normalise,
                runtime=self.runtime,
            )[0]
            out = self.model(inference_session=session, frame=x)
            hidden = set(out.removed_obj_ids or ()) | set(out.suppressed_obj_ids or ())
            instances: list[Instance] = []
            for object_id in sorted(out.obj_id_to_mask):
                if object_id in hidden:
                    continue
                low = out.obj_id_to_mask[object_id].float()  # (1, h, w) logits
                mask = (
                    torch.nn.functional.interpolate(
                        low[None],
                        size=(run.height, run.width),
                        mode="bilinear",
                        align_corners=False,
                    )[0, 0]
                    > 0
                )
                if not bool(mask.any()):
                    continue
                prompt = session.prompts[session.obj_id_to_prompt_id[object_id]]
                score = float(out.obj_id_to_score.get(object_id, 0.0))
                instances.append(Instance(prompt, int(object_id), score, mask.cpu().numpy()))
        return instances
