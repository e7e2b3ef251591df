"""Seeded synthetic cohorts in each public layout, with realistic ranges and a known signal.

Each generator draws patients from one `numpy.random.Generator`, so a seed fixes the cohort.
The signal (which columns drive the target, and how) is written next to each generator;
tests check that the models learn it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dataset import Dataset
from .layouts import ALZHEIMERS_2149, CARDIO_TRAIN, PROACT_ALS, UCI_PARKINSONS, TableLayout


def _normal(rng: np.random.Generator, mean: float, sd: float, low: float, high: float,
            size: int) -> np.ndarray:
    return np.clip(rng.normal(mean, sd, size), low, high)


def _flag(rng: np.random.Generator, probability: float | np.ndarray, size: int) -> np.ndarray:
    return (rng.random(size) < probability).astype(int)


def _label(rng: np.random.Generator, logit: np.ndarray) -> np.ndarray:
    return _flag(rng, 1.0 / (1.0 + np.exp(-logit)), len(logit))


def _dataset(layout: TableLayout, frame: pd.DataFrame, groups: pd.Series | None = None) -> Dataset:
    return Dataset(features=frame[list(layout.features)].astype(float),
                   target=frame[layout.target], task=layout.task, source="synthetic",
                   layout=layout.name, groups=groups, categorical=layout.categorical)


def alzheimers_cohort(seed: int, n: int = 2149) -> Dataset:
    """Patients aged 60-90; diagnosis driven by MMSE, functional assessment, ADL, memory
    complaints and behavioural problems (as in the public dataset), mostly through thresholds
    (MMSE below 24 together with functional assessment below 5, ADL below 4), which tree
    ensembles capture better than a linear model; the lifestyle and vascular columns are noise."""
    rng = np.random.default_rng(seed)
    f = pd.DataFrame({
        "Age": rng.integers(60, 91, n), "Gender": _flag(rng, 0.5, n),
        "Ethnicity": rng.choice(4, n, p=[0.6, 0.2, 0.1, 0.1]),
        "EducationLevel": rng.choice(4, n, p=[0.2, 0.4, 0.3, 0.1]),
        "BMI": rng.uniform(15, 40, n), "Smoking": _flag(rng, 0.29, n),
        "AlcoholConsumption": rng.uniform(0, 20, n), "PhysicalActivity": rng.uniform(0, 10, n),
        "DietQuality": rng.uniform(0, 10, n), "SleepQuality": rng.uniform(4, 10, n),
        "FamilyHistoryAlzheimers": _flag(rng, 0.25, n), "CardiovascularDisease": _flag(rng, 0.14, n),
        "Diabetes": _flag(rng, 0.15, n), "Depression": _flag(rng, 0.2, n),
        "HeadInjury": _flag(rng, 0.09, n), "Hypertension": _flag(rng, 0.15, n),
        "SystolicBP": rng.integers(90, 180, n), "DiastolicBP": rng.integers(60, 120, n),
        "CholesterolTotal": rng.uniform(150, 300, n), "CholesterolLDL": rng.uniform(50, 200, n),
        "CholesterolHDL": rng.uniform(20, 100, n),
        "CholesterolTriglycerides": rng.uniform(50, 400, n),
        "MMSE": rng.uniform(0, 30, n), "FunctionalAssessment": rng.uniform(0, 10, n),
        "MemoryComplaints": _flag(rng, 0.21, n), "BehavioralProblems": _flag(rng, 0.16, n),
        "ADL": rng.uniform(0, 10, n), "Confusion": _flag(rng, 0.2, n),
        "Disorientation": _flag(rng, 0.16, n), "PersonalityChanges": _flag(rng, 0.15, n),
        "DifficultyCompletingTasks": _flag(rng, 0.16, n), "Forgetfulness": _flag(rng, 0.3, n)})
    impaired = (f["MMSE"] < 24) & (f["FunctionalAssessment"] < 5)  # both low: the interaction
    logit = (-3.1 + 2.6 * impaired + 1.2 * (f["ADL"] < 4) - 0.04 * (f["MMSE"] - 15)
             + 2.2 * f["MemoryComplaints"] + 2.0 * f["BehavioralProblems"]
             + 0.02 * (f["Age"] - 75))
    f["Diagnosis"] = _label(rng, logit.to_numpy())
    return _dataset(ALZHEIMERS_2149, f)


def cardiovascular_cohort(seed: int, n: int = 10_000) -> Dataset:
    """Adults aged 39-65 (age in days, as in cardio_train); disease driven by systolic blood
    pressure (with a step at 140 mmHg), age, high cholesterol, BMI and inactivity. About 0.5% of blood pressures carry the
    data-entry errors of the public file (an extra digit, a negative sign)."""
    rng = np.random.default_rng(seed)
    years = rng.uniform(39, 65, n)
    gender = np.where(rng.random(n) < 0.65, 1, 2)  # 1 women, 2 men
    height = np.where(gender == 1, rng.normal(161, 7, n), rng.normal(170, 7, n)).round()
    weight = np.where(gender == 1, rng.normal(72, 14, n), rng.normal(78, 13, n)).clip(40, 180)
    bmi = weight / (height / 100) ** 2
    cholesterol = rng.choice([1, 2, 3], n, p=[0.75, 0.14, 0.11])
    gluc = rng.choice([1, 2, 3], n, p=[0.85, 0.07, 0.08])
    active = _flag(rng, 0.8, n)
    ap_hi = (110 + 0.6 * (years - 40) + 0.8 * (bmi - 25) + 4 * (cholesterol - 1)
             + rng.normal(0, 14, n)).clip(80, 220).round(-1)
    ap_lo = (0.55 * ap_hi + 12 + rng.normal(0, 7, n)).clip(50, 130).round(-1)
    logit = (-0.1 + 1.3 * (ap_hi >= 140) + 0.02 * (ap_hi - 128) + 0.06 * (years - 53)
             + 0.9 * (cholesterol == 3) + 0.2 * (gluc - 1) + 0.04 * (bmi - 27) - 0.25 * active)
    cardio = _label(rng, logit)
    typo = rng.random(n) < 0.005
    ap_hi = np.where(typo & (rng.random(n) < 0.5), ap_hi * 10, ap_hi)
    ap_lo = np.where(typo & (ap_hi < 250), -ap_lo, ap_lo)
    f = pd.DataFrame({"age": (years * 365.25).round(), "gender": gender, "height": height,
                      "weight": weight.round(1), "ap_hi": ap_hi, "ap_lo": ap_lo,
                      "cholesterol": cholesterol, "gluc": gluc, "smoke": _flag(rng, 0.09, n),
                      "alco": _flag(rng, 0.05, n), "active": active, "cardio": cardio})
    return _dataset(CARDIO_TRAIN, f)


def parkinsons_cohort(seed: int, healthy: int = 8, affected: int = 23) -> Dataset:
    """Sustained-vowel recordings, 6 per healthy subject and 6-7 per affected one (195 from
    the default 31 subjects, as in the UCI set). A latent severity per subject raises jitter, shimmer, NHR, spread1 and PPE and
    lowers HNR; recordings of one subject share it, so folds are grouped by subject."""
    rng = np.random.default_rng(seed)
    status = np.r_[np.zeros(healthy, int), np.ones(affected, int)]
    recordings = np.r_[np.full(healthy, 6), np.where(np.arange(affected) < 9, 7, 6)]
    severity = np.where(status == 1, rng.normal(1.4, 0.6, len(status)),
                        rng.normal(0.0, 0.4, len(status)))
    base_fo = np.where(rng.random(len(status)) < 0.5, rng.normal(120, 15, len(status)),
                       rng.normal(200, 25, len(status)))
    subject = np.repeat(np.arange(len(status)), recordings)
    s = severity[subject] + rng.normal(0, 0.35, len(subject))
    n = len(subject)

    def lognormal(median: float, per_severity: float, spread: float) -> np.ndarray:
        return median * np.exp(per_severity * s + rng.normal(0, spread, n))

    fo = base_fo[subject] * np.exp(rng.normal(0, 0.04, n))
    rap = lognormal(0.0018, 0.35, 0.25)
    apq3 = lognormal(0.011, 0.3, 0.25)
    shimmer = apq3 * 2.4 * np.exp(rng.normal(0, 0.1, n))
    f = pd.DataFrame({
        "MDVP:Fo(Hz)": fo, "MDVP:Fhi(Hz)": fo * np.exp(np.abs(rng.normal(0.25, 0.2, n))),
        "MDVP:Flo(Hz)": fo * np.exp(-np.abs(rng.normal(0.2, 0.15, n))),
        "MDVP:Jitter(%)": rap * 2.1, "MDVP:Jitter(Abs)": rap * 2.1 / fo, "MDVP:RAP": rap,
        "MDVP:PPQ": rap * 1.05 * np.exp(rng.normal(0, 0.1, n)), "Jitter:DDP": rap * 3,
        "MDVP:Shimmer": shimmer, "MDVP:Shimmer(dB)": 20 * np.log10(1 + shimmer) * 1.1,
        "Shimmer:APQ3": apq3, "Shimmer:APQ5": apq3 * 1.2 * np.exp(rng.normal(0, 0.1, n)),
        "MDVP:APQ": apq3 * 1.6 * np.exp(rng.normal(0, 0.15, n)), "Shimmer:DDA": apq3 * 3,
        "NHR": lognormal(0.008, 0.6, 0.5), "HNR": np.clip(25 - 2.2 * s + rng.normal(0, 2.5, n), 8, 34),
        "RPDE": np.clip(0.45 + 0.03 * s + rng.normal(0, 0.08, n), 0.25, 0.69),
        "DFA": np.clip(0.72 + rng.normal(0, 0.05, n), 0.57, 0.83),
        "spread1": np.clip(-6.3 + 0.75 * s + rng.normal(0, 0.6, n), -8, -2.4),
        "spread2": np.clip(0.18 + 0.04 * s + rng.normal(0, 0.07, n), 0.006, 0.45),
        "D2": np.clip(2.2 + 0.12 * s + rng.normal(0, 0.35, n), 1.4, 3.7),
        "PPE": np.clip(0.12 + 0.07 * s + rng.normal(0, 0.04, n), 0.04, 0.53),
        "status": status[subject]})
    names = pd.Series([f"S{k + 1:02d}" for k in subject], name="group")
    return _dataset(UCI_PARKINSONS, f, groups=names)


def als_cohort(seed: int, n: int = 1800) -> Dataset:
    """One row per patient. A latent progression rate (faster with bulbar onset and age) sets
    the future ALSFRS slope and also how far the baseline score has fallen since onset, so the
    pre-baseline decline (40 - ALSFRS_Total_mean) / months since onset is the main, non-linear
    signal, with FVC a weaker one; weight, BMI and the labs carry little."""
    rng = np.random.default_rng(seed)
    age = _normal(rng, 56, 11, 25, 85, n)
    bulbar = _flag(rng, 0.28, n)
    site = np.where(bulbar == 1, 1, np.where(rng.random(n) < 0.93, 2, 3))  # 1 bulbar 2 limb 3 both
    rate = np.exp(rng.normal(np.log(0.75), 0.45, n) + 0.3 * bulbar + 0.012 * (age - 56))
    months = np.clip(np.exp(rng.normal(np.log(18), 0.5, n)) / np.sqrt(rate), 3, 96)
    alsfrs = np.clip(40 - 0.6 * rate * months + rng.normal(0, 2.0, n), 4, 40)
    fvc = np.clip(100 - 9 * rate + rng.normal(0, 14, n), 20, 140)
    weight = _normal(rng, 75, 14, 40, 140, n)
    height = _normal(rng, 1.72, 0.09, 1.45, 2.0, n)
    riluzole = _flag(rng, 0.7, n)
    slope = -(rate * (1 - 0.1 * riluzole) + 0.004 * (90 - fvc)) + rng.normal(0, 0.18, n)
    f = pd.DataFrame({
        "Age_mean": age.round(), "Gender_mean": _flag(rng, 0.62, n),
        "onset_delta_mean": -(months * 30.44).round(), "onset_site_mean": site,
        "ALSFRS_Total_mean": alsfrs.round(1), "fvc_percent_mean": fvc.round(1),
        "weight_mean": weight.round(1),
        "BMI_mean": (weight / height ** 2).round(1),
        "Creatinine_mean": _normal(rng, 70 - 5 * (rate - 0.75), 15, 20, 150, n).round(),
        "Albumin_mean": _normal(rng, 44, 3, 30, 55, n).round(1), "Riluzole": riluzole,
        "ALSFRS_slope": np.clip(slope, -5, 0.5).round(4)})
    return _dataset(PROACT_ALS, f)
