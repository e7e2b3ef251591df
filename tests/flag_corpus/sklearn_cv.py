import argparse

import joblib
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import cross_val_score

ap = argparse.ArgumentParser(description="random forest with k-fold CV")
ap.add_argument("--csv", required=True, help="input table")
ap.add_argument("--cv", type=int, default=5, help="number of folds")
ap.add_argument("--n-jobs", type=int, default=-1)
ap.add_argument("--random-state", type=int, default=0)
ap.add_argument("--model-out", default="model.joblib", help="output file (not a directory)")
args = ap.parse_args()

df = pd.read_csv(args.csv)
clf = RandomForestClassifier(random_state=args.random_state, n_jobs=args.n_jobs)
print(cross_val_score(clf, df.drop(columns="y"), df["y"], cv=args.cv).mean())
joblib.dump(clf, args.model_out)
