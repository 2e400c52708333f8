"""A student's LSTM hidden state without the tanh."""

import numpy as np

#: the registry mistakes (equation id, mistake name) this module makes, for tests/test_student_mistakes.py
MISTAKES = [('recurrent.lstm_hidden', 'no tanh')]


def lstm_hidden(o, c):
    return np.asarray(o) * np.asarray(c)  # wrong: o * tanh(c)
