#!/usr/bin/env python3
"""How separable is the embedded corpus? A reference, not part of the build.

MFCC (librosa: 13 + deltas, 32 ms FFT, 10 ms hop, 40 mels) pooled by mean and
std over time, standardised, then logistic regression and a 128-unit MLP
(scikit-learn), on a stratified random 80/20 split and on 5 speaker-disjoint
folds. Needs numpy, librosa and scikit-learn:

    python3 audio/check_corpus.py audio/digits
"""
import glob, os, sys, numpy as np, librosa
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.pipeline import make_pipeline
from sklearn.model_selection import GroupKFold, StratifiedShuffleSplit
root = sys.argv[1]
X, y, g = [], [], []
for f in sorted(glob.glob(os.path.join(root, "*.wav"))):
    d, s, t = os.path.basename(f)[:-4].split("_")
    x, sr = librosa.load(f, sr=8000)
    m = librosa.feature.mfcc(y=x, sr=sr, n_mfcc=13, n_fft=256, hop_length=80, n_mels=40)
    m = np.vstack([m, librosa.feature.delta(m, width=5)])
    X.append(np.concatenate([m.mean(1), m.std(1)])); y.append(int(d)); g.append(s)
X, y, g = np.array(X), np.array(y), np.array(g)
print(len(y), "files", len(set(g)), "speakers")
for name, clf in [("logreg", LogisticRegression(max_iter=2000)), ("mlp", MLPClassifier((128,), max_iter=1000, random_state=0))]:
    model = make_pipeline(StandardScaler(), clf)
    tr, te = next(StratifiedShuffleSplit(1, test_size=0.2, random_state=0).split(X, y))
    acc_r = model.fit(X[tr], y[tr]).score(X[te], y[te])
    accs = []
    for tr, te in GroupKFold(5).split(X, y, g):
        accs.append(model.fit(X[tr], y[tr]).score(X[te], y[te]))
    print(f"{name}: random 80/20 {acc_r:.3f}; speaker 5-fold {np.mean(accs):.3f} (folds {np.round(accs,3)})")
