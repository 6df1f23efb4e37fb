"""The training loop: it learns, it resumes exactly, it stops on time, and its GPU paths run on the CPU."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from facexray_forensics.train import Batched, SyntheticBlends, load_checkpoint, load_config, model_from_checkpoint, train
from facexray_forensics.train.loop import build_step

TINY = Path(__file__).resolve().parents[2] / "training" / "configs" / "tiny_cpu.toml"


def tiny(tmp_path, name="run", **run):
    config = load_config(TINY)
    config.data.image_size = 32
    config.run.checkpoint_dir = str(tmp_path / name)
    for key, value in run.items():
        setattr(config.run, key, value)
    return config


def test_synthetic_xray_is_eq2_of_its_mask_and_half_are_real():
    image, xray, label = SyntheticBlends(4, 32, seed=3).make(0)
    assert image.shape == (4, 3, 32, 32) and xray.shape == (4, 1, 32, 32)
    assert label.tolist() == [1, 1, 0, 0]
    assert torch.all(xray[2:] == 0) and torch.all(xray[:2] <= 1.0) and xray[:2].max() > 0.9
    torch.testing.assert_close(SyntheticBlends(4, 32, seed=3).make(0)[0], image)


def test_steps_on_a_fixed_batch_lower_the_loss(tmp_path):
    config = tiny(tmp_path)
    step = build_step(config, torch.device("cpu"))
    batch = SyntheticBlends(4, 32, seed=0).make(0)
    losses = [step(batch)[0].item() for _ in range(4)]
    assert losses[-1] < 0.5 * losses[0], losses


def test_resume_reproduces_the_exact_next_loss(tmp_path):
    straight = train(tiny(tmp_path, "straight"), max_steps=2, progress=False)
    first = train(tiny(tmp_path, "chunked"), max_steps=1, progress=False)
    second = train(tiny(tmp_path, "chunked"), max_steps=1, progress=False)
    assert first.losses == straight.losses[:1]
    assert second.step == 2 and second.losses == [straight.losses[1]]
    payload = load_checkpoint(second.checkpoint)  # weights_only: no pickle
    assert payload["step"] == 2 and payload["ranks"][0]["source"]["next_batch"] == 2
    model = model_from_checkpoint(second.checkpoint)
    assert torch.equal(model.class_head.weight, payload["model"]["class_head.weight"])


def test_chunk_stops_within_its_time_budget_and_the_run_finishes(tmp_path):
    config = tiny(tmp_path)
    config.optim.total_steps = 2
    chunk = train(config, max_minutes=1e-6, progress=False)
    assert chunk.step == 1 and not chunk.finished and chunk.checkpoint.is_file()
    rest = train(config, progress=False)
    assert rest.step == 2 and rest.finished and len(rest.losses) == 1
    assert train(config, progress=False).losses == []  # nothing left to do


def test_a_slow_first_step_does_not_end_a_short_chunk(tmp_path, monkeypatch):
    """torch.compile makes the first step slow; the budget is judged at the pace of the last step."""
    import time

    from facexray_forensics.train.loop import TrainStep

    calls = []

    def first_slow(self, batch, **options):  # a step of no work, but the first takes 1 s
        calls.append(None)
        if len(calls) == 1:
            time.sleep(1.0)
        loss = torch.tensor(1.0)
        return loss, {"bce": loss, "ce": loss}

    monkeypatch.setattr(TrainStep, "__call__", first_slow)
    config = tiny(tmp_path)
    config.optim.total_steps = 10**6
    config.run.log_every = config.run.checkpoint_every = 10**6
    chunk = train(config, max_minutes=2.0 / 60, progress=False)
    # At the mean pace after the first step (1 s a step) a second step would overrun the 2 s; at the real pace not.
    assert chunk.step > 10 and not chunk.finished


def test_bf16_and_channels_last_paths_run_on_the_cpu(tmp_path):
    config = tiny(tmp_path, bf16=True, channels_last=True, cpu_too=True)
    step = build_step(config, torch.device("cpu"))
    assert step.bf16 and step.memory_format == torch.channels_last
    loss, parts = step(SyntheticBlends(2, 32).make(0))
    assert torch.isfinite(loss) and parts["bce"].dtype == torch.float32


def test_frozen_backbone_keeps_its_weights_and_statistics(tmp_path):
    config = tiny(tmp_path)
    config.model.freeze_backbone_steps = 1
    step = build_step(config, torch.device("cpu"))
    before = {k: v.clone() for k, v in step.model.backbone.state_dict().items()}
    head_before = step.model.class_head.weight.clone()
    step(SyntheticBlends(2, 32).make(0), freeze_backbone=True)
    assert all(torch.equal(before[k], v) for k, v in step.model.backbone.state_dict().items())
    assert not torch.equal(head_before, step.model.class_head.weight)
    step(SyntheticBlends(2, 32).make(1), freeze_backbone=False)
    assert not torch.equal(before["conv1.weight"], step.model.backbone.conv1.weight)


def test_frozen_trunk_layers_keep_weights_and_statistics_for_the_whole_run(tmp_path):
    config = tiny(tmp_path)
    config.model.name, config.model.class_head, config.model.frozen_trunk_layers = "mobilenetv2_100", "log_pool", 4
    step = build_step(config, torch.device("cpu"))
    features = step.model.backbone.features
    before = [{k: v.clone() for k, v in layer.state_dict().items()} for layer in features[:5]]
    step(SyntheticBlends(2, 32).make(0))
    step.model.eval()  # as a learning-curve point leaves it; the next step must freeze them again
    step(SyntheticBlends(2, 32).make(1))
    for layer, saved in zip(features[:4], before):
        assert all(torch.equal(saved[k], v) for k, v in layer.state_dict().items())
    assert not torch.equal(before[4]["conv.0.0.weight"], features[4].conv[0][0].weight)
    assert not torch.equal(before[4]["conv.0.1.running_mean"], features[4].conv[0][1].running_mean)
    optimised = {id(p) for group in step.optimizer.param_groups for p in group["params"]}
    assert not any(id(p) in optimised for p in features[:4].parameters())


def test_frozen_trunk_layers_need_a_trunk_with_ordered_layers(tmp_path):
    config = tiny(tmp_path)
    config.model.frozen_trunk_layers = 2
    with pytest.raises(ValueError, match="ordered layers"):
        build_step(config, torch.device("cpu"))
    config.model.frozen_trunk_layers = -1
    with pytest.raises(ValueError, match="frozen_trunk_layers"):
        config.validate()


class _CountingSamples:
    """A per-sample source with an exact position, as the BI sampler offers."""

    def __init__(self):
        self.position = 0

    def __iter__(self):
        while True:
            index = self.position
            self.position += 1
            yield torch.full((3, 32, 32), index / 100.0), torch.zeros(1, 32, 32), index % 2

    def state_dict(self):
        return {"position": self.position}

    def load_state_dict(self, state):
        self.position = state["position"]


def test_batched_source_collates_and_carries_its_state():
    source = Batched(_CountingSamples(), batch_size=3)
    batches = iter(source)
    next(batches)
    state = source.state_dict()
    image, xray, label = next(batches)
    assert image.shape == (3, 3, 32, 32) and label.tolist() == [1, 0, 1]
    again = Batched(_CountingSamples(), batch_size=3)
    again.load_state_dict(state)
    torch.testing.assert_close(next(iter(again))[0], image)
    with pytest.raises(TypeError, match="state_dict"):
        Batched([1, 2, 3], 2)


def test_train_accepts_an_external_source(tmp_path):
    result = train(tiny(tmp_path), source=Batched(_CountingSamples(), 2), max_steps=1, progress=False)
    assert result.step == 1 and load_checkpoint(result.checkpoint)["ranks"][0]["source"] == {"samples": {"position": 2}}


def test_cli_train_and_bench_train(tmp_path):
    from facexray_forensics.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["model", "train", str(TINY), "--max-steps", "1", "--checkpoint-dir", str(tmp_path / "cli"), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["step"] == 1 and Path(summary["checkpoint"]).is_file()
    result = runner.invoke(main, ["bench", "train", "--config", str(TINY), "--model", "hrnet_w18_small", "--batch", "2",
                                  "--size", "32", "--steps", "1", "--warmup", "0", "--device", "cpu", "--no-anchor",
                                  "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["batch"] == 2 and report["model"] == "hrnet_w18_small" and report["samples_per_s"] > 0
    assert "cpu" in report["device"] and "anchor_samples_per_s" not in report


def _ddp_worker(rank, world_size, port, directory):
    import os

    os.environ.update(
        {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
         "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}
    )
    torch.set_num_threads(1)
    config = tiny(Path(directory))
    result = train(config, max_steps=1, progress=False, source=SyntheticBlends(2, 32, seed=rank))
    if rank == 1:  # rank 0's weights are in the checkpoint
        torch.save(result.model.state_dict(), Path(directory) / "rank1.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_ddp_with_gloo_on_two_processes(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    torch.multiprocessing.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    payload = load_checkpoint(tmp_path / "run" / "latest.pt")
    assert payload["world_size"] == 2 and len(payload["ranks"]) == 2
    assert [rank["source"]["seed"] for rank in payload["ranks"]] == [0, 1]
    # Each rank drew its own data, yet the averaged gradients keep one set of weights.
    other = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert torch.equal(payload["model"]["xray_head.weight"], other["xray_head.weight"])
    assert payload["model"]["xray_head.weight"].abs().sum() > 0
    with pytest.raises(ValueError, match="processes"):
        train(tiny(tmp_path), max_steps=1, progress=False)


def test_bi_sampler_feeds_training_from_train_sources_only(tmp_path, tiny_index):
    from facexray_forensics.data.split import TRAIN, split_files, write_split

    split = split_files([(f"person{i}/a.jpg", f"person{i}") for i in range(4)], held_out_fraction=0.5)
    write_split(split, tmp_path / "split.json")
    config = tiny(tmp_path)
    config.data.source, config.data.index, config.data.split = "bi", str(tiny_index), str(tmp_path / "split.json")
    config.data.workers, config.data.image_size = 0, 64
    result = train(config, max_steps=1, progress=False)
    state = load_checkpoint(result.checkpoint)["ranks"][0]["source"]
    assert state == {"samples": {"seed": 0, "start": 2}}
    from facexray_forensics.train.loop import make_source

    dataset = make_source(config, 0, torch.device("cpu")).samples
    assert set(dataset.sources) == split.sources(TRAIN) and dataset.sources


def test_loader_batches_resume_after_the_consumed_samples(tiny_index):
    from facexray_forensics.blending.sampler import BlendDataset
    from facexray_forensics.train.data import LoaderBatches

    source = LoaderBatches(BlendDataset(tiny_index, seed=5, chunk=2), batch_size=2, workers=1)
    batches = iter(source)
    next(batches)
    state = source.state_dict()
    expected = next(batches)
    resumed = LoaderBatches(BlendDataset(tiny_index, seed=5, chunk=2), batch_size=2, workers=0)
    resumed.load_state_dict(state)
    got = next(iter(resumed))
    torch.testing.assert_close(got[0], expected[0])
    torch.testing.assert_close(got[1], expected[1])


def test_gpu_sampler_batches_resume_from_the_generator_state(tiny_index):
    from facexray_forensics.blending.gpu_sampler import GpuBlendSampler
    from facexray_forensics.train.data import GeneratorBatches

    source = GeneratorBatches(GpuBlendSampler(tiny_index, device="cpu", jpeg="dct"), 2, seed=3)
    batches = iter(source)
    next(batches)
    state = source.state_dict()
    expected = next(batches)
    resumed = GeneratorBatches(GpuBlendSampler(tiny_index, device="cpu", jpeg="dct"), 2, seed=9)
    resumed.load_state_dict(state)
    for got, want in zip(next(iter(resumed)), expected):
        assert torch.equal(got, want)
    assert expected[0].shape == (2, 3, 64, 64) and expected[1].shape == (2, 1, 64, 64)


def test_a_chunk_continued_from_weights_counts_their_training(tmp_path):
    from facexray_forensics.model import ModelCard, save_weights
    from facexray_forensics.train.checkpoint import model_from_checkpoint

    config = tiny(tmp_path / "first")
    first = train(config, max_steps=2, progress=False)
    model = model_from_checkpoint(first.checkpoint)
    save_weights(model, tmp_path / "shipped", ModelCard("hrnet_w18", notes={"training": {
        "samples_seen": 1000, "train_seconds": 60.0}}))
    again = tiny(tmp_path / "second")
    again.model.init = str(tmp_path / "shipped")
    result = train(again, max_steps=1, progress=False)
    payload = load_checkpoint(result.checkpoint)
    assert payload["step"] == 1  # a new chunk: fresh optimiser and schedule
    assert payload["prior_training"]["samples_seen"] == 1000 and payload["prior_training"]["train_seconds"] == 60.0
    # It started from the shipped weights, not from a fresh initialisation.
    fresh = train(tiny(tmp_path / "fresh"), max_steps=1, progress=False)
    assert not torch.equal(payload["model"]["class_head.weight"], load_checkpoint(fresh.checkpoint)["model"]["class_head.weight"])
    again.model.class_head = "log_pool"
    with pytest.raises(ValueError, match="head"):
        train(again, max_steps=1, progress=False, resume=False)


def test_bench_train_runs_the_configs_sampler_beside_the_anchor(tiny_index):
    from facexray_forensics.bench.train import run

    config = load_config(TINY)
    config.model.name, config.data.image_size, config.data.workers = "mobilenetv2_100", 64, 0
    config.model.frozen_trunk_layers = 4  # the config's own; the anchor trains all of HRNet
    report = run(config, index=str(tiny_index), steps=1, warmup=0)
    assert report["model"] == "mobilenetv2_100" and report["image_size"] == 64 and report["frozen_trunk_layers"] == 4
    assert report["data"] == f"BI sampler on {tiny_index}"
    assert report["anchor"].startswith("hrnet_w18 at 256") and report["anchor_samples_per_s"] > 0
    assert report["speedup"] == pytest.approx(report["samples_per_s"] / report["anchor_samples_per_s"], rel=0.01)


def test_learning_curve_scores_a_model_on_a_held_out_set(tmp_path):
    from facexray_forensics.data.sets import EvaluationSet, write_evaluation_set
    from facexray_forensics.model import create
    from facexray_forensics.train.curve import LearningCurve

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 255, (6, 64, 64, 3), dtype=np.uint8)
    mask = np.zeros((3, 64, 64), np.float32)
    mask[:, 16:48, 16:48] = 1.0
    item = EvaluationSet(faces[:3], faces[3:], mask, faces[3:].copy(), faces[:3].copy(),
                         [("a", "b"), ("c", "d"), ("e", "f")], ["a", "c", "e"])
    write_evaluation_set(tmp_path / "eval", item)
    curve = LearningCurve(tmp_path / "eval", tmp_path / "curve.jsonl", torch.device("cpu"))
    model = create("hrnet_w18_small").train()
    first = curve.record(model, step=5, samples=160, seconds_before=30.0)
    assert model.training  # scoring puts the model back as it found it
    assert set(first) == {"step", "samples", "train_seconds", "cpu_seconds", "alpha_auc", "poisson_auc", "pixel_auc"}
    assert first["train_seconds"] >= 30.0 and 0.0 <= first["alpha_auc"] <= 1.0
    lines = (tmp_path / "curve.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [5]
