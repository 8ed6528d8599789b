"""Numbered migrations. A database records the last one applied in `PRAGMA user_version`."""

MIGRATIONS: tuple[str, ...] = (
    # 1: the foundation
    """
    CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,              -- youtube | feed | ytdlp
        feed_url TEXT,                   -- what is polled (YouTube: the channel feed)
        name TEXT,
        every_s INTEGER,                 -- poll interval override, seconds
        etag TEXT,
        last_modified TEXT,
        last_checked TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL
    );
    CREATE TABLE videos (
        id INTEGER PRIMARY KEY,
        platform TEXT NOT NULL,
        video_id TEXT NOT NULL,
        source_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
        url TEXT NOT NULL,
        title TEXT,
        channel TEXT,
        description TEXT,
        published TEXT,
        duration REAL,
        state TEXT NOT NULL DEFAULT 'discovered',  -- discovered|archived|transcribed|failed
        error TEXT,
        removed_at TEXT,                 -- set while unavailable at the source
        discovered_at TEXT NOT NULL,
        archived_at TEXT,
        folder TEXT,                     -- relative to the archive root
        UNIQUE (platform, video_id)
    );
    CREATE INDEX videos_state ON videos(state);
    CREATE TABLE video_events (
        id INTEGER PRIMARY KEY,
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        role TEXT NOT NULL,              -- media|info|thumbnail|description|subtitles|manifest
        path TEXT NOT NULL UNIQUE,       -- relative to the archive root
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        archived_at TEXT NOT NULL
    );
    CREATE TABLE transcripts (
        id INTEGER PRIMARY KEY,
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        source TEXT NOT NULL DEFAULT 'asr',   -- asr|subtitles|metadata|import
        model TEXT,
        settings TEXT,                   -- json
        language TEXT,
        language_probability REAL,
        audio_seconds REAL,
        elapsed_seconds REAL,
        complete INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        transcript INTEGER NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        text TEXT NOT NULL,
        lang TEXT,
        probability REAL
    );
    CREATE INDEX segments_transcript ON segments(transcript, seq);
    CREATE TABLE words (
        id INTEGER PRIMARY KEY,
        segment INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        word TEXT NOT NULL,
        probability REAL
    );
    CREATE INDEX words_segment ON words(segment, position);
    -- Analysed text, one stem per word, rowid = segments.id.
    CREATE VIRTUAL TABLE segments_fts USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
    """,
)

MIGRATIONS += (
    # 2: the daemon's persistent queue, source back-off, takedown checks
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- archive | transcribe
        video INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        state TEXT NOT NULL DEFAULT 'queued',   -- queued | running | done | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before TEXT NOT NULL,        -- back-off: not claimed before this time
        lease_owner TEXT,
        lease_until TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE UNIQUE INDEX jobs_open ON jobs(kind, video) WHERE state IN ('queued', 'running');
    CREATE INDEX jobs_claim ON jobs(state, not_before);
    ALTER TABLE sources ADD COLUMN not_before TEXT;
    ALTER TABLE sources ADD COLUMN last_reconciled TEXT;
    ALTER TABLE videos ADD COLUMN live_status TEXT;
    ALTER TABLE videos ADD COLUMN last_rechecked TEXT
    """,
)

MIGRATIONS += (
    # 3: phrases across segment boundaries. A bridge row (rowid = the first segment's id)
    # holds the last BRIDGE words of a segment and the first BRIDGE words of the next;
    # `split` is how many come from the first. Only matches that straddle it count.
    """
    CREATE VIRTUAL TABLE bridges_fts USING fts5(terms, split UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 0')
    """,
)

MIGRATIONS += (
    # 4: every word form seen (normalised) and its indexed form, for approximate matching
    """
    CREATE TABLE vocabulary (word TEXT PRIMARY KEY, stem TEXT NOT NULL) WITHOUT ROWID
    """,
)

MIGRATIONS += (
    # 5: saved searches and their matches
    """
    CREATE TABLE watches (
        id INTEGER PRIMARY KEY,
        query TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        watch INTEGER NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
        segment INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        video_id TEXT NOT NULL,
        start REAL NOT NULL,
        end REAL NOT NULL,
        text TEXT NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        delivered_at TEXT,
        UNIQUE (watch, segment)
    )
    """,
)

MIGRATIONS += (
    # 6: chain of custody: append-only, each entry hashes the previous one of its video
    """
    CREATE TABLE custody (
        id INTEGER PRIMARY KEY,
        video INTEGER NOT NULL REFERENCES videos(id),
        seq INTEGER NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        event TEXT NOT NULL,
        details TEXT NOT NULL,           -- canonical JSON
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL,
        UNIQUE (video, seq)
    );
    CREATE TRIGGER custody_no_update BEFORE UPDATE ON custody
        BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END;
    CREATE TRIGGER custody_no_delete BEFORE DELETE ON custody
        BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END
    """,
)

MIGRATIONS += (
    # 7: per-segment language probability (code-switching) and transcription checkpoints
    """
    ALTER TABLE segments ADD COLUMN lang_probability REAL;
    ALTER TABLE transcripts ADD COLUMN checkpoint REAL NOT NULL DEFAULT 0
    """,
)

MIGRATIONS += (
    # 8: a video's segments by id, for counting a common word's hits per video by rowid range
    """
    CREATE INDEX segments_video ON segments(video, id)
    """,
)

MIGRATIONS += (
    # 9: facts about the database itself, e.g. which analyser version built the index
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
    """,
)

MIGRATIONS += (
    # 10: seen stems by stem, for approximate matching of a misheard word's stem
    """
    CREATE INDEX vocabulary_stem ON vocabulary(stem)
    """,
)

MIGRATIONS += (
    # 11: each seen word form's key of speech recognition's usual confusions (store/fuzzy.py),
    # for possible mentions spelled differently
    """
    ALTER TABLE vocabulary ADD COLUMN fold TEXT;
    UPDATE vocabulary SET fold = dalel_fold(word);
    CREATE INDEX vocabulary_fold ON vocabulary(fold)
    """,
)

MIGRATIONS += (
    # 12: a channel's history chosen at add time: videos published before `cutoff` (the later of
    # `since` and the last_n-th newest video at the first check) are recorded as skipped
    """
    ALTER TABLE sources ADD COLUMN since TEXT;
    ALTER TABLE sources ADD COLUMN last_n INTEGER;
    ALTER TABLE sources ADD COLUMN cutoff TEXT
    """,
)

MIGRATIONS += (
    # 13: a file archived in S3 object storage is read by this version of its key (the key is
    # [cluster] archive_url's prefix + the path); NULL: the file is in the local archive folder
    """
    ALTER TABLE files ADD COLUMN version_id TEXT
    """,
)

MIGRATIONS += (
    # 14: an alert seen by an analyst (the alerts page's "acknowledge")
    """
    ALTER TABLE alerts ADD COLUMN acknowledged_at TEXT
    """,
)

MIGRATIONS += (
    # 15: accountable users: accounts with a role, API tokens (only their SHA-256 is kept),
    # and the audit log of who searched, exported, verified or changed what
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,              -- admin | analyst
        password_hash TEXT NOT NULL,     -- argon2id
        created_at TEXT NOT NULL
    );
    CREATE TABLE user_tokens (
        id INTEGER PRIMARY KEY,
        user INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_sha256 TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        user TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT
    )
    """,
)

MIGRATIONS += (
    # 16: a paused source is neither checked nor archived from until it is resumed
    """
    ALTER TABLE sources ADD COLUMN paused INTEGER NOT NULL DEFAULT 0
    """,
)

MIGRATIONS += (
    # 17: each process of the daemon (scheduler, workers) with its heartbeat and current jobs,
    # for `dalel status`; a scheduler is active or standby
    """
    CREATE TABLE processes (
        owner TEXT PRIMARY KEY,          -- host:pid:start, as the job leases name it
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        role TEXT NOT NULL,              -- scheduler | worker | daemon
        state TEXT NOT NULL,             -- active | standby (a scheduler waiting for the lock)
        kinds TEXT NOT NULL,             -- the job kinds it works on, comma-separated
        jobs TEXT NOT NULL,              -- what it works on now: "transcribe DaLeLdemo01", …
        started_at TEXT NOT NULL,
        heartbeat_at TEXT NOT NULL
    )
    """,
)

MIGRATIONS += (
    # 18: a job is about a video or (a poll) about a source: a cluster's workers check sources
    # (`dalel worker --kinds poll`), queued by the one active scheduler
    """
    CREATE TABLE jobs_new (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,              -- archive | transcribe | timestamp | recheck | fixity | poll
        video INTEGER REFERENCES videos(id) ON DELETE CASCADE,
        state TEXT NOT NULL DEFAULT 'queued',   -- queued | running | done | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before TEXT NOT NULL,        -- back-off: not claimed before this time
        lease_owner TEXT,
        lease_until TEXT,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        source INTEGER REFERENCES sources(id) ON DELETE CASCADE,   -- a poll's source (video NULL)
        CHECK ((video IS NULL) != (source IS NULL))
    );
    INSERT INTO jobs_new (id, kind, video, state, attempts, not_before, lease_owner, lease_until,
                          last_error, created_at, updated_at)
        SELECT id, kind, video, state, attempts, not_before, lease_owner, lease_until, last_error,
               created_at, updated_at FROM jobs;
    DROP TABLE jobs;
    ALTER TABLE jobs_new RENAME TO jobs;
    CREATE UNIQUE INDEX jobs_open ON jobs(kind, video) WHERE state IN ('queued', 'running');
    CREATE UNIQUE INDEX jobs_open_source ON jobs(kind, source) WHERE state IN ('queued', 'running');
    CREATE INDEX jobs_claim ON jobs(state, not_before)
    """,
)

MIGRATIONS += (
    # 19: the near keys of the vocabulary's folded forms (kind 'f') and stems ('s'): each key of 4
    # or more letters itself and, from 5, with each one letter deleted (store/index.py:
    # near_keys), so that the forms one edit from a word are looked up, not scanned for
    """
    CREATE TABLE near_keys (kind TEXT NOT NULL, del TEXT NOT NULL, key TEXT NOT NULL,
                            PRIMARY KEY (kind, del, key)) WITHOUT ROWID;
    WITH RECURSIVE k(kind, key) AS (
            SELECT 'f', fold FROM vocabulary WHERE length(fold) >= 4
            UNION SELECT 's', stem FROM vocabulary WHERE length(stem) >= 4),
        n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < (SELECT max(length(key)) FROM k))
    INSERT OR IGNORE INTO near_keys (kind, del, key)
        SELECT kind, CASE WHEN i = 0 THEN key ELSE substr(key, 1, i - 1) || substr(key, i + 1) END, key
        FROM k JOIN n ON i <= length(key) AND (i = 0 OR length(key) >= 5)
    """,
)
