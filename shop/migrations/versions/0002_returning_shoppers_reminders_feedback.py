"""returning shoppers, cart reminders, feedback

Consents, remember-me tokens, the cart reminder outbox, and the link from a conversation to
the remembered shopper. Conversation ratings use the existing ``feedback`` table.

Revision ID: 0002_retention
Revises: 0001
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0002_retention'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN (no table rebuild on SQLite: rebuilding ``conversations`` would
    # cascade-delete the rows that reference it).
    op.add_column('conversations', sa.Column('customer_id', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_conversations_customer_id'), 'conversations', ['customer_id'], unique=False)

    op.create_table('consents',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consents_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index('ix_consents_merchant_session', ['merchant_id', 'session_id'], unique=False)

    op.create_table('shopper_tokens',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('shopper_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shopper_tokens_customer_id'), ['customer_id'], unique=False)

    op.create_table('cart_reminders',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('merchant_id', sa.String(length=64), nullable=False),
    sa.Column('cart_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=320), nullable=False),
    sa.Column('lang', sa.String(length=16), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('link_expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('claim', sa.String(length=40), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['cart_id'], ['carts.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['merchant_id'], ['merchants.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cart_id'),
    sa.UniqueConstraint('link_hash')
    )
    with op.batch_alter_table('cart_reminders', schema=None) as batch_op:
        batch_op.create_index('ix_cart_reminders_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_reminders_merchant_id'), ['merchant_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cart_reminders_session_id'), ['session_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cart_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cart_reminders_session_id'))
        batch_op.drop_index(batch_op.f('ix_cart_reminders_merchant_id'))
        batch_op.drop_index('ix_cart_reminders_due')
    op.drop_table('cart_reminders')
    with op.batch_alter_table('shopper_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shopper_tokens_customer_id'))
    op.drop_table('shopper_tokens')
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_merchant_session')
        batch_op.drop_index(batch_op.f('ix_consents_customer_id'))
    op.drop_table('consents')
    op.drop_index(op.f('ix_conversations_customer_id'), table_name='conversations')
    # SQLite >= 3.35 drops a column in place (again no rebuild of ``conversations``).
    op.drop_column('conversations', 'customer_id')
