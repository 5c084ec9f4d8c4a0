"""Training: one concern per module, and one resumable fit for every task.

- `training.fit`: `resumable_fit`, the fit every task runs;
- `training.callbacks`: the time budget and its schedule, throughput,
  `KeepBest`, per-epoch seeds, persisted counters, the non-finite stop,
  dev BLEU;
- `training.resume`: checkpoint checks, the resume-or-start-clean choice,
  per-epoch seeds, the history file;
- `training.losses`: masked, label-smoothed token cross-entropy;
- `training.precision`: `--precision` and Keras' dtype policy;
- `training.threads`: `--threads`, TensorFlow's two thread pools;
- `training.slices`: `--batch-slices`, a batch's slices side by side;
- `training.averaging`: a moving average of the weights, checkpoint
  averages;
- `training.optimizers`: `FusedAdam`, Keras' Adam in one fused update per
  weight on TensorFlow.

Every public name is importable from `s2s_zoo.training` itself.
"""

from s2s_zoo.training.averaging import ExponentialMovingAverage
from s2s_zoo.training.averaging import KeepLastCheckpoints
from s2s_zoo.training.averaging import average_checkpoints
from s2s_zoo.training.callbacks import AttentionImages
from s2s_zoo.training.callbacks import BudgetDecay
from s2s_zoo.training.callbacks import CallbackState
from s2s_zoo.training.callbacks import DevBleu
from s2s_zoo.training.callbacks import EpochSeeds
from s2s_zoo.training.callbacks import KeepBest
from s2s_zoo.training.callbacks import StopOnNonFinite
from s2s_zoo.training.callbacks import Throughput
from s2s_zoo.training.callbacks import TimeBudget
from s2s_zoo.training.callbacks import TrainingDiverged
from s2s_zoo.training.fit import FitResult
from s2s_zoo.training.fit import prepare_resume
from s2s_zoo.training.fit import resumable_fit
from s2s_zoo.training.fit import run_files
from s2s_zoo.training.losses import SmoothedTokenCrossentropy
from s2s_zoo.training.losses import masked_loss
from s2s_zoo.training.optimizers import FusedAdam
from s2s_zoo.training.precision import PRECISIONS
from s2s_zoo.training.precision import cpu_has_native_bfloat16
from s2s_zoo.training.precision import global_dtype_policy
from s2s_zoo.training.precision import resolve_precision
from s2s_zoo.training.resume import check_checkpoint
from s2s_zoo.training.resume import drop_unreadable
from s2s_zoo.training.resume import epoch_seed
from s2s_zoo.training.resume import read_history
from s2s_zoo.training.resume import resume_epoch
from s2s_zoo.training.resume import seed_epoch
from s2s_zoo.training.resume import seed_generators
from s2s_zoo.training.resume import start_or_resume
from s2s_zoo.training.resume import unreadable
from s2s_zoo.training.slices import resolve_batch_slices
from s2s_zoo.training.threads import THREAD_CHOICES
from s2s_zoo.training.threads import current_threads
from s2s_zoo.training.threads import resolve_threads
from s2s_zoo.training.threads import use_threads

__all__ = [
    "AttentionImages",
    "BudgetDecay",
    "CallbackState",
    "DevBleu",
    "EpochSeeds",
    "ExponentialMovingAverage",
    "FitResult",
    "FusedAdam",
    "KeepBest",
    "KeepLastCheckpoints",
    "PRECISIONS",
    "SmoothedTokenCrossentropy",
    "THREAD_CHOICES",
    "StopOnNonFinite",
    "Throughput",
    "TimeBudget",
    "TrainingDiverged",
    "average_checkpoints",
    "check_checkpoint",
    "cpu_has_native_bfloat16",
    "current_threads",
    "drop_unreadable",
    "epoch_seed",
    "global_dtype_policy",
    "masked_loss",
    "prepare_resume",
    "read_history",
    "resolve_batch_slices",
    "resolve_precision",
    "resolve_threads",
    "resumable_fit",
    "resume_epoch",
    "run_files",
    "seed_epoch",
    "seed_generators",
    "start_or_resume",
    "unreadable",
    "use_threads",
]
