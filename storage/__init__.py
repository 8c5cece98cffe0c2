"""ShiftBrief storage: SQLAlchemy 2 models, sessions, repositories and Alembic migrations."""
