"""The brain MRI run: k-fold cross-validation of the CNN, then a final fit on all slices,
checkpointed after every epoch and on SIGTERM, resumed from the checkpoint on a rerun.
Under torchrun with several processes it trains data-parallel (see `distributed`)."""

from __future__ import annotations

import argparse
import signal
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import BaseCrossValidator

from ..artifacts import output_dir, write_json, write_run_config
from ..errors import DataError, Terminated
from ..metrics import CLASSIFICATION, classification_scores, summarise
from ..report import RunClock, dataset_id, metrics_document, summary_line
from ..runtime import StopRequest, cpu_threads, deferred_stop
from ..splits import check_fold_count, make_splitter
from . import checkpoint
from .checkpoint import Progress
from .cnn import SliceCNN
from .distributed import Group, join, leave, shard_step
from .fitting import batch_order, predict_proba, step
from .imageset import ImageSet
from .phantoms import make_phantoms
from .slices import load_slice_folder

MODEL_FILE = "model.pt"


@dataclass(frozen=True)
class CnnRun:
    """Resolved settings of a brain MRI run."""

    model_id: str
    data_path: Path | None
    output_dir: Path | None
    folds: int
    epochs: int
    batch_size: int
    lr: float
    seed: int
    image_size: int
    phantoms: int
    device: str  # "auto", "cpu" or "cuda"


def wants_cuda(requested: str) -> bool:
    """CUDA when available (or demanded), else CPU."""
    if requested == "cuda" and not torch.cuda.is_available():
        raise DataError("--device cuda: CUDA is not available on this machine")
    return requested != "cpu" and torch.cuda.is_available()


def pick_device(requested: str, group: Group = Group()) -> torch.device:
    """The device of this process: CPU, or CUDA (the process's own GPU under a launcher)."""
    if not wants_cuda(requested):
        return torch.device("cpu")
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True
    return torch.device("cuda", group.local_rank) if group.active else torch.device("cuda")


def _plain(model: torch.nn.Module) -> SliceCNN:
    """The CNN itself, also when wrapped in DistributedDataParallel."""
    return getattr(model, "module", model)


def splitter_for(data: ImageSet, folds: int, seed: int) -> BaseCrossValidator:
    """Stratified k-fold, grouped by patient when the slices have patients."""
    return make_splitter(CLASSIFICATION, folds, seed, grouped=data.groups is not None)


def fold_plan(data: ImageSet, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) slice indices of each fold; a patient's slices stay on one side."""
    splitter = splitter_for(data, folds, seed)
    return list(splitter.split(data.labels, data.labels, data.groups))


class Trainer:
    """Runs the CV folds and the final fit from a `Progress`, saving it as it goes (rank 0
    saves; every rank stops at the same, agreed batch)."""

    def __init__(self, run: CnnRun, data: ImageSet, device: torch.device, path: Path,
                 progress: Progress, group: Group = Group()) -> None:
        self.run, self.device, self.path, self.progress = run, device, path, progress
        self.group = group
        self.agreed_stop = False        # the group's decision at the last step
        self.images = torch.from_numpy(data.images).unsqueeze(1).to(device)
        self.labels = torch.from_numpy(data.labels).to(device)
        self.targets = data.labels
        self.n_classes = len(data.classes)
        self.plan = [*fold_plan(data, run.folds, run.seed),
                     (np.arange(len(data.labels)), None)]  # the last fit is the final model

    def _model(self) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
        torch.manual_seed(self.run.seed * 1009 + self.progress.run)
        model = SliceCNN(self.n_classes).to(self.device)
        optimizer = torch.optim.Adam(model.parameters(), lr=self.run.lr)
        if self.progress.model_state is not None:
            model.load_state_dict(self.progress.model_state)
            optimizer.load_state_dict(self.progress.optimizer_state)
        return self.group.wrap(model, self.device), optimizer

    def _save(self, model: torch.nn.Module | None, optimizer: torch.optim.Optimizer | None) -> None:
        p = self.progress
        p.model_state = None if model is None else {k: v.cpu() for k, v in _plain(model).state_dict().items()}
        p.optimizer_state = None if optimizer is None else optimizer.state_dict()
        if self.group.main:
            checkpoint.save(self.path, p)

    def _stopping(self, stop: StopRequest) -> bool:
        """Whether to stop: the signal itself for one process, the group's decision for several."""
        return self.agreed_stop if self.group.active else stop.requested

    def _halt(self, stop: StopRequest) -> None:
        """After a save: stop here if a signal came in (to any rank)."""
        if self._stopping(stop):
            self.group.barrier()        # rank 0's checkpoint is written before any rank stops
            if self.group.main:
                print(f"{self.run.model_id}: checkpoint saved to {self.path} at "
                      f"{self.progress.position()}; rerun the same command to resume", flush=True)
            raise Terminated(stop.signum or signal.SIGTERM)

    def _step(self, stop: StopRequest, model: torch.nn.Module, optimizer: torch.optim.Optimizer,
              batch: np.ndarray) -> float:
        """One step on a global batch; returns the batch's summed loss (over all ranks)."""
        if not self.group.active:
            index = torch.from_numpy(batch).to(self.device)
            return step(model, optimizer, self.images[index], self.labels[index]) * len(index)
        part, weight = self.group.shard(batch)
        index = torch.from_numpy(part).to(self.device)
        local = shard_step(model, optimizer, self.images[index], self.labels[index], weight, len(batch),
                           self.group.world)
        total, self.agreed_stop = self.group.agree(local, stop.requested, self.device)
        return total

    def _epochs(self, stop: StopRequest, model: SliceCNN, optimizer: torch.optim.Optimizer,
                train: np.ndarray) -> None:
        p = self.progress
        while p.epoch < self.run.epochs:
            batches = batch_order(train, self.run.batch_size, self.run.seed, p.run, p.epoch)
            while p.batch < len(batches):
                p.loss_sum += self._step(stop, model, optimizer, batches[p.batch])
                p.seen += len(batches[p.batch])
                p.batch += 1
                if self._stopping(stop) and p.batch < len(batches):  # mid-epoch: save, then stop
                    self._save(model, optimizer)
                    self._halt(stop)
            p.loss_history[p.run].append(p.loss_sum / p.seen)
            p.epoch, p.batch, p.loss_sum, p.seen = p.epoch + 1, 0, 0.0, 0
            self._save(model, optimizer)
            self._halt(stop)

    def fit_all(self) -> dict:
        """Every remaining fold, then the final fit; returns the final model's state_dict."""
        p = self.progress
        with deferred_stop() as stop:
            while p.run < len(self.plan):
                train, test = self.plan[p.run]
                if len(p.loss_history) <= p.run:
                    p.loss_history.append([])
                model, optimizer = self._model()
                self._epochs(stop, model, optimizer, train)
                if test is not None and self.group.main:
                    index = torch.from_numpy(test).to(self.device)
                    proba = predict_proba(_plain(model), self.images[index], self.run.batch_size)
                    p.fold_scores.append(classification_scores(self.targets[test], proba))
                p.run, p.epoch = p.run + 1, 0
                done = p.run == len(self.plan)  # keep the final weights; folds' are not needed
                self._save(model if done else None, optimizer if done else None)
                self._halt(stop)
        return p.model_state


def _fingerprint(run: CnnRun, data: ImageSet) -> dict:
    return {"seed": run.seed, "folds": run.folds, "epochs": run.epochs,
            "batch_size": run.batch_size, "lr": run.lr, "image_size": run.image_size,
            "classes": list(data.classes), "data": data.digest()}


def run_cnn(run: CnnRun, script: str, args: argparse.Namespace) -> dict | None:
    """Train, cross-validate, checkpoint and save; returns the metrics document (None on the
    ranks other than 0 of a data-parallel run: only rank 0 writes files and prints results)."""
    clock = RunClock()
    threads = cpu_threads()
    torch.set_num_threads(threads)
    group = join(wants_cuda(run.device))
    try:
        return _train(run, script, args, clock, threads, group)
    finally:
        leave(group)


def _train(run: CnnRun, script: str, args: argparse.Namespace, clock: RunClock, threads: int,
           group: Group) -> dict | None:
    device = pick_device(run.device, group)
    data = (load_slice_folder(run.data_path, run.image_size) if run.data_path is not None
            else make_phantoms(run.phantoms, run.image_size, run.seed))
    check_fold_count(CLASSIFICATION, run.folds, data.labels, data.groups, unit="patients",
                     classes=data.classes)
    out = output_dir(run.output_dir, run.model_id)
    if group.main:
        write_run_config(out, run.model_id, script, args, {
            "data_path": run.data_path, "output_dir": out, "folds": run.folds, "epochs": run.epochs,
            "batch_size": run.batch_size, "lr": run.lr, "seed": run.seed,
            "image_size": run.image_size, "device": str(device), "threads": threads,
            "processes": group.world})
    path = out / checkpoint.CHECKPOINT_FILE
    fingerprint = _fingerprint(run, data)
    saved = checkpoint.load(path, fingerprint)
    resumed_from = None if saved is None else saved.position()
    if resumed_from is not None and group.main:
        print(f"{run.model_id}: resuming from {path} at {resumed_from}", flush=True)
    trainer = Trainer(run, data, device, path, saved or Progress(fingerprint=fingerprint), group)
    final_state = trainer.fit_all()
    if not group.main:
        return None
    torch.save(final_state, out / MODEL_FILE)
    results = {"cnn": {"kind": "cnn", "estimator": SliceCNN.__name__,
                       "params": {"lr": run.lr, "batch_size": run.batch_size},
                       "metrics": summarise(trainer.progress.fold_scores)}}
    document = metrics_document(
        model_id=run.model_id, dataset=dataset_id(run.model_id, data.path), task=CLASSIFICATION,
        source=data.source, data=data.describe(), folds=run.folds,
        cv=type(splitter_for(data, run.folds, run.seed)).__name__, split=data.split,
        seed=run.seed, epochs=run.epochs,
        models=results, selected="cnn", artifacts={"model": MODEL_FILE, "run_config": "run_config.json"},
        clock=clock, extra={
            "environment": {"threads": threads, "device": str(device), "processes": group.world,
                            "distributed_backend": group.backend},
            "training": {"batch_size": run.batch_size, "lr": run.lr, "image_size": run.image_size,
                         "resumed_from": resumed_from,
                         "loss_history": trainer.progress.loss_history}})
    write_json(out / "metrics.json", document)
    path.unlink(missing_ok=True)  # the run is complete: a rerun starts afresh
    print(summary_line(run.model_id, CLASSIFICATION, results, "cnn"))
    print(f"{run.model_id}: wrote {out / 'metrics.json'} and {out / MODEL_FILE}")
    return document
