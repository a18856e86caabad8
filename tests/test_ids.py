import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from aiqyn.ids import bin_registration, check_digit, is_valid, make_bin, make_iin


def test_worked_example():
    # 9*1 + 9*2 + 0*3 + 7*4 + 4*5 + 0*6 + 0*7 + 0*8 + 2*9 + 2*10 + 4*11 = 157; 157 mod 11 = 3
    assert check_digit("99074000224") == 3
    assert is_valid("990740002243")


def test_rejects_wrong_check_digit_and_shape():
    assert not is_valid("990740002244")
    assert not is_valid("99074000224")
    assert not is_valid("99074000224X")


def test_second_weights_used_when_first_sum_is_ten():
    # Find a prefix whose first weighted sum is 10 and check the second weights decide.
    for serial in range(100000):
        first = f"2001400{serial:05d}"[:11]
        if sum(int(d) * w for d, w in zip(first, range(1, 12), strict=True)) % 11 == 10:
            expected = sum(int(d) * w for d, w in zip(first, (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2), strict=True)) % 11
            assert check_digit(first) == (None if expected == 10 else expected)
            return
    raise AssertionError("no prefix with first sum 10 found")


@given(st.integers(1990, 2089), st.integers(1, 12), st.integers(0, 99999))
def test_made_bins_are_valid_and_carry_their_registration(year, month, serial):
    number = make_bin(year, month, serial)
    if number is None:
        assert check_digit(f"{year % 100:02d}{month:02d}40{serial:05d}") is None
        return
    assert is_valid(number)
    assert bin_registration(number) == (year, month)


@given(st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)), st.booleans(), st.integers(0, 9999))
def test_made_iins_are_valid(birth, male, serial):
    number = make_iin(birth, male, serial)
    if number is not None:
        assert is_valid(number)
        assert number[:6] == birth.strftime("%y%m%d")
