"""notices that show understanding (issue 17): significance and audience of a revision, 理解度確認
questions, per-person receipts (read / acknowledged / passed, the badge apart), answers, campaigns

Revision ID: 0017
Revises: 0014

The old notice_reads rows are carried into notice_receipts as read_at (they were recorded under the
old rule, by opening the notice page or its link); every active member of a notice's unit gets a
receipt, so the badge and the matrix keep counting them.
"""
from alembic import op
import sqlalchemy as sa

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('significance', sa.String(length=8), server_default='minor', nullable=False))
        batch_op.add_column(sa.Column('audience', sa.Text(), server_default='', nullable=False))

    op.create_table('revision_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=False),
    sa.Column('order', sa.Integer(), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('choices', sa.Text(), nullable=False),
    sa.Column('correct', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('anchor', sa.String(length=200), nullable=False),
    sa.Column('heading', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['revision_id'], ['revisions.id'], name=op.f('fk_revision_questions_revision_id_revisions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revision_questions'))
    )
    with op.batch_alter_table('revision_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_questions_revision_id'), ['revision_id'], unique=False)

    op.create_table('notice_campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('manual_id', sa.Integer(), nullable=False),
    sa.Column('revision_id', sa.Integer(), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('sections', sa.Text(), nullable=False),
    sa.Column('audience', sa.Text(), nullable=False),
    sa.Column('owner_unit_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['manual_id'], ['manuals.id'], name=op.f('fk_notice_campaigns_manual_id_manuals')),
    sa.ForeignKeyConstraint(['revision_id'], ['revisions.id'], name=op.f('fk_notice_campaigns_revision_id_revisions')),
    sa.ForeignKeyConstraint(['owner_unit_id'], ['units.id'], name=op.f('fk_notice_campaigns_owner_unit_id_units')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_notice_campaigns_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_campaigns'))
    )
    with op.batch_alter_table('notice_campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_campaigns_manual_id'), ['manual_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_campaigns_owner_unit_id'), ['owner_unit_id'], unique=False)

    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('significance', sa.String(length=8), server_default='minor', nullable=False))
        batch_op.add_column(sa.Column('audience', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('campaign_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_by_name', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('withdraw_reason', sa.Text(), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_notices_campaign_id'), ['campaign_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_notices_campaign_id_notice_campaigns'), 'notice_campaigns',
                                    ['campaign_id'], ['id'])

    op.create_table('notice_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('dismissed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('passed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_receipts_notice_id_notices')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_receipts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_receipts')),
    sa.UniqueConstraint('notice_id', 'user_id', name=op.f('uq_notice_receipts_notice_id'))
    )
    with op.batch_alter_table('notice_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_receipts_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_receipts_user_id'), ['user_id'], unique=False)

    op.create_table('notice_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('choice', sa.Integer(), nullable=False),
    sa.Column('correct', sa.Boolean(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_answers_notice_id_notices')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_answers_user_id_users')),
    sa.ForeignKeyConstraint(['question_id'], ['revision_questions.id'],
                            name=op.f('fk_notice_answers_question_id_revision_questions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_answers'))
    )
    with op.batch_alter_table('notice_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_answers_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index('ix_notice_answers_question', ['question_id', 'attempt'], unique=False)

    # Carry the old reads over: every active member of a ward notice's unit gets a receipt.
    notices = sa.table('notices', sa.column('id'), sa.column('unit_id'), sa.column('owner_copy'))
    users = sa.table('users', sa.column('id'), sa.column('unit_id'), sa.column('active'))
    reads = sa.table('notice_reads', sa.column('notice_id'), sa.column('user_id'), sa.column('read_at'))
    receipts = sa.table('notice_receipts', sa.column('notice_id'), sa.column('user_id'), sa.column('read_at'),
                        sa.column('attempts'))
    members = sa.select(notices.c.id, users.c.id, reads.c.read_at, sa.literal(0)).select_from(
        notices.join(users, users.c.unit_id == notices.c.unit_id).outerjoin(
            reads, sa.and_(reads.c.notice_id == notices.c.id, reads.c.user_id == users.c.id))
    ).where(notices.c.owner_copy == sa.false(), users.c.active == sa.true())
    op.execute(receipts.insert().from_select(['notice_id', 'user_id', 'read_at', 'attempts'], members))
    op.drop_table('notice_reads')


def downgrade():
    op.create_table('notice_reads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notices.id'], name=op.f('fk_notice_reads_notice_id_notices')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notice_reads_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_reads')),
    sa.UniqueConstraint('notice_id', 'user_id', name=op.f('uq_notice_reads_notice_id'))
    )
    with op.batch_alter_table('notice_reads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_reads_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_reads_user_id'), ['user_id'], unique=False)
    op.execute("INSERT INTO notice_reads (notice_id, user_id, read_at) "
               "SELECT notice_id, user_id, read_at FROM notice_receipts WHERE read_at IS NOT NULL")
    op.drop_table('notice_answers')
    op.drop_table('notice_receipts')
    with op.batch_alter_table('notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notices_campaign_id_notice_campaigns'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_notices_campaign_id'))
        for column in ('withdraw_reason', 'withdrawn_by_name', 'withdrawn_at', 'campaign_id', 'audience',
                       'significance'):
            batch_op.drop_column(column)
    op.drop_table('notice_campaigns')
    op.drop_table('revision_questions')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_column('audience')
        batch_op.drop_column('significance')
