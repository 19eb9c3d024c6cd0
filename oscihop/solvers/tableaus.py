"""Butcher tableaus of the explicit Runge-Kutta methods.

Each adaptive tableau is FSAL with ``n_stages`` stages plus the stage ``K[n_stages] =
f(y_new)``; ``E`` weights all ``n_stages + 1`` stages to give the error estimate
``h * K^T E``; ``P`` gives the dense output
``y(t + theta h) = y + h * sum_k K_k sum_j P[k, j] theta^(j+1)``.
RK23 and RK45 carry scipy's coefficients (Bogacki-Shampine, Dormand-Prince) so
oscihop and ``scipy.integrate.solve_ivp`` take the same steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Tableau", "RK23", "RK45", "Tsit5", "TABLEAUS"]


@dataclass(frozen=True)
class Tableau:
    """An embedded explicit Runge-Kutta pair with dense output."""

    name: str
    order: int
    error_estimator_order: int
    A: np.ndarray
    B: np.ndarray
    C: np.ndarray
    E: np.ndarray
    P: np.ndarray

    @property
    def n_stages(self):
        return self.B.shape[0]


RK23 = Tableau(
    "RK23", 3, 2,
    A=np.array([[0.0, 0.0, 0.0], [1 / 2, 0.0, 0.0], [0.0, 3 / 4, 0.0]]),
    B=np.array([2 / 9, 1 / 3, 4 / 9]),
    C=np.array([0.0, 1 / 2, 3 / 4]),
    E=np.array([5 / 72, -1 / 12, -1 / 9, 1 / 8]),
    P=np.array([[1.0, -4 / 3, 5 / 9], [0.0, 1.0, -2 / 3], [0.0, 4 / 3, -8 / 9], [0.0, -1.0, 1.0]]),
)

RK45 = Tableau(
    "RK45", 5, 4,
    A=np.array([
        [0.0, 0.0, 0.0, 0.0, 0.0],
        [1 / 5, 0.0, 0.0, 0.0, 0.0],
        [3 / 40, 9 / 40, 0.0, 0.0, 0.0],
        [44 / 45, -56 / 15, 32 / 9, 0.0, 0.0],
        [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729, 0.0],
        [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
    ]),
    B=np.array([35 / 384, 0.0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84]),
    C=np.array([0.0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1.0]),
    E=np.array([-71 / 57600, 0.0, 71 / 16695, -71 / 1920, 17253 / 339200, -22 / 525, 1 / 40]),
    P=np.array([
        [1.0, -8048581381 / 2820520608, 8663915743 / 2820520608, -12715105075 / 11282082432],
        [0.0, 0.0, 0.0, 0.0],
        [0.0, 131558114200 / 32700410799, -68118460800 / 10900136933, 87487479700 / 32700410799],
        [0.0, -1754552775 / 470086768, 14199869525 / 1410260304, -10690763975 / 1880347072],
        [0.0, 127303824393 / 49829197408, -318862633887 / 49829197408, 701980252875 / 199316789632],
        [0.0, -282668133 / 205662961, 2019193451 / 616988883, -1453857185 / 822651844],
        [0.0, 40617522 / 29380423, -110615467 / 29380423, 69997945 / 29380423],
    ]),
)

# Tsitouras (2011), "Runge-Kutta pairs of order 5(4) satisfying only the first column
# simplifying assumption", Comput. Math. Appl. 62, 770-775 (the coefficients used by
# OrdinaryDiffEq.jl and diffrax).  Dense output: Tsitouras' 4th-order continuous extension
# b_i(theta) = sum_j P[i, j] theta^(j+1).
_TS_A = np.array([
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.161, 0.0, 0.0, 0.0, 0.0, 0.0],
    [-0.008480655492356989, 0.335480655492357, 0.0, 0.0, 0.0, 0.0],
    [2.897153057105493, -6.359448489975075, 4.3622954328695815, 0.0, 0.0, 0.0],
    [5.325864828439257, -11.748883564062828, 7.4955393428898365, -0.09249506636175525, 0.0, 0.0],
    [5.86145544294642, -12.92096931784711, 8.159367898576159, -0.071584973281401, -0.028269050394068383, 0.0],
])
_TS_B = np.array([0.09646076681806523, 0.01, 0.4798896504144996, 1.379008574103742, -3.290069515436081,
                  2.324710524099774])
Tsit5 = Tableau(
    "Tsit5", 5, 4,
    A=_TS_A,
    B=_TS_B,
    C=np.array([0.0, 0.161, 0.327, 0.9, 0.9800255409045097, 1.0]),
    E=-np.array([-0.00178001105222577714, -0.0008164344596567469, 0.007880878010261995, -0.1447110071732629,
                 0.5823571654525552, -0.45808210592918697, 1.0 / 66.0]),
    P=np.array([
        [1.0, -2.763706197274826, 2.9132554618219126, -1.0530884977290216],
        [0.0, 0.13169999999999998, -0.2234, 0.1017],
        [0.0, 3.9302962368947516, -5.941033872131505, 2.490627285651253],
        [0.0, -12.411077166933676, 30.33818863028232, -16.548102889244902],
        [0.0, 37.50931341651104, -88.1789048947664, 47.37952196281928],
        [0.0, -27.896526289197286, 65.09189467479366, -34.87065786149660],
        [0.0, 1.5, -4.0, 2.5],
    ]),
)

TABLEAUS = {t.name: t for t in (RK23, RK45, Tsit5)}
