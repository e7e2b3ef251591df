"""The column layouts of the public datasets users already have, one TableLayout each."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

from ..metrics import CLASSIFICATION, REGRESSION


@dataclass(frozen=True)
class TableLayout:
    """What a CSV in a known public layout must contain and how to clean it."""

    name: str
    title: str
    task: str
    target: str
    features: tuple[str, ...]
    categorical: tuple[str, ...] = ()       # nominal codes: one-hot encoded for linear models
    zero_as_missing: tuple[str, ...] = ()   # 0 recorded where the value was not measured
    plausible: Mapping[str, tuple[float, float]] = field(default_factory=dict)  # else missing
    group_column: str | None = None         # rows of one subject share this column's key...
    group_pattern: str | None = None        # ...after this regex's first group is extracted
    classes: tuple[float, ...] = (0, 1)     # allowed target values (classification)

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.features, self.target)


PIMA = TableLayout(
    name="pima", title="Pima Indians Diabetes Database (diabetes.csv, 768 rows)",
    task=CLASSIFICATION, target="Outcome",
    features=("Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI",
              "DiabetesPedigreeFunction", "Age"),
    zero_as_missing=("Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"))

EFRON_DIABETES = TableLayout(
    name="efron-diabetes",
    title="Efron et al. (2004) diabetes progression (diabetes.tab.txt, 442 rows)",
    task=REGRESSION, target="Y",
    features=("AGE", "SEX", "BMI", "BP", "S1", "S2", "S3", "S4", "S5", "S6"))

UCI_PARKINSONS = TableLayout(
    name="uci-parkinsons", title="UCI Parkinson's voice measures (parkinsons.data, 195 rows)",
    task=CLASSIFICATION, target="status",
    features=("MDVP:Fo(Hz)", "MDVP:Fhi(Hz)", "MDVP:Flo(Hz)", "MDVP:Jitter(%)",
              "MDVP:Jitter(Abs)", "MDVP:RAP", "MDVP:PPQ", "Jitter:DDP", "MDVP:Shimmer",
              "MDVP:Shimmer(dB)", "Shimmer:APQ3", "Shimmer:APQ5", "MDVP:APQ", "Shimmer:DDA",
              "NHR", "HNR", "RPDE", "DFA", "spread1", "spread2", "D2", "PPE"),
    group_column="name", group_pattern=r"^(.*)_\d+$")

CARDIO_TRAIN = TableLayout(
    name="cardio-train",
    title="Cardiovascular Disease dataset (cardio_train.csv, ';'-separated, 70,000 rows)",
    task=CLASSIFICATION, target="cardio",
    features=("age", "gender", "height", "weight", "ap_hi", "ap_lo", "cholesterol", "gluc",
              "smoke", "alco", "active"),
    plausible=MappingProxyType({"height": (120, 220), "weight": (30, 250),
                                "ap_hi": (60, 250), "ap_lo": (30, 160)}))

ALZHEIMERS_2149 = TableLayout(
    name="alzheimers-2149",
    title="Alzheimer's Disease Dataset (alzheimers_disease_data.csv, 2,149 patients)",
    task=CLASSIFICATION, target="Diagnosis",
    features=("Age", "Gender", "Ethnicity", "EducationLevel", "BMI", "Smoking",
              "AlcoholConsumption", "PhysicalActivity", "DietQuality", "SleepQuality",
              "FamilyHistoryAlzheimers", "CardiovascularDisease", "Diabetes", "Depression",
              "HeadInjury", "Hypertension", "SystolicBP", "DiastolicBP", "CholesterolTotal",
              "CholesterolLDL", "CholesterolHDL", "CholesterolTriglycerides", "MMSE",
              "FunctionalAssessment", "MemoryComplaints", "BehavioralProblems", "ADL",
              "Confusion", "Disorientation", "PersonalityChanges", "DifficultyCompletingTasks",
              "Forgetfulness"),
    categorical=("Ethnicity",))

PROACT_ALS = TableLayout(
    name="proact-als",
    title="PRO-ACT-style ALS progression features (one row per patient, target ALSFRS_slope)",
    task=REGRESSION, target="ALSFRS_slope",
    features=("Age_mean", "Gender_mean", "onset_delta_mean", "onset_site_mean",
              "ALSFRS_Total_mean", "fvc_percent_mean", "weight_mean",
              "BMI_mean", "Creatinine_mean", "Albumin_mean", "Riluzole"),
    categorical=("onset_site_mean",))
