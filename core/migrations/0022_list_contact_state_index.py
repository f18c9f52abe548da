from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

# The SQLite side of migration 0020. Audience counts on SQLite read a list's
# subscriptions through an index on sending_list_id and fetch each row by rowid. With
# state on the contact, a state condition went through contact's (state, id) index and
# looked up only that state's subscriptions; 0020 dropped that index and tests
# list_contact.state, so SQLite took (sending_list_id, status, signup_date) and fetched
# every subscription of the list in signup-date order, a random walk over the table:
# on 1,000,000 subscriptions (bench/audience_count.py) API.md's example went from
# 324 ms to 1,422-2,115 ms. With (sending_list_id, state) it fetches only the state's
# rows again: 1,422 -> 172 ms. On PostgreSQL a state condition becomes a parallel bitmap
# heap scan over the same pages as its seq scan (a state's subscriptions are on every
# page), no clear change in time; a rare state reads fewer pages. The numbers of both
# backends are in the bench's docstring. state never changes, so counter updates stay HOT.


class Migration(migrations.Migration):
    dependencies = [('models', '0021_click_link_foreign_key')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='ListContact',
            index=Index(fields=['sending_list_id', 'state']),
        ),
    ]
