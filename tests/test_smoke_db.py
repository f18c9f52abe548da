from core.accounts.models import Account


async def test_db_is_clean_and_usable(db):
    assert await Account.all().count() == 0
    await Account.create(name="x", owner_email="a@b.test")
    assert await Account.all().count() == 1


async def test_db_is_clean_again(db):
    assert await Account.all().count() == 0
