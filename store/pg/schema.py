"""The PostgreSQL schema of a cluster: the same tables as SQLite's (`store/schema.py`), with
PostgreSQL's types (times as timestamptz where the queue compares them on the server), the
custody log append-only by trigger *and* by privilege (the application role may insert and read
it, never update or delete), and the search index as tsvectors (`store/tsquery.py`)."""
from __future__ import annotations

# Each step runs once, in order; `schema_version` records the last one applied.
STEPS: tuple[str, ...] = (
    """
    CREATE TABLE sources (
        id bigserial PRIMARY KEY, url text NOT NULL UNIQUE, kind text NOT NULL, feed_url text,
        name text, every_s integer, etag text, last_modified text, last_checked text,
        last_error text, created_at text NOT NULL, not_before text, last_reconciled text,
        since text, last_n integer, cutoff text, paused integer NOT NULL DEFAULT 0);
    CREATE TABLE videos (
        id bigserial PRIMARY KEY, platform text NOT NULL, video_id text NOT NULL,
        source_id bigint REFERENCES sources(id) ON DELETE SET NULL, url text NOT NULL, title text,
        channel text, description text, published text, duration double precision,
        state text NOT NULL DEFAULT 'discovered', error text, removed_at text,
        discovered_at text NOT NULL, archived_at text, folder text, live_status text,
        last_rechecked text, UNIQUE (platform, video_id));
    CREATE INDEX videos_state ON videos(state);
    CREATE INDEX videos_source ON videos(source_id);
    CREATE TABLE video_events (
        id bigserial PRIMARY KEY, video bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        at text NOT NULL, event text NOT NULL, detail text);
    CREATE INDEX video_events_video ON video_events(video);
    CREATE TABLE files (
        id bigserial PRIMARY KEY, video bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        role text NOT NULL, path text NOT NULL UNIQUE, size bigint NOT NULL, sha256 text NOT NULL,
        archived_at text NOT NULL, version_id text);
    CREATE INDEX files_video ON files(video);
    CREATE TABLE transcripts (
        id bigserial PRIMARY KEY, video bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        source text NOT NULL DEFAULT 'asr', model text, settings text, language text,
        language_probability double precision, audio_seconds double precision,
        elapsed_seconds double precision, complete boolean NOT NULL DEFAULT false,
        created_at text NOT NULL, checkpoint double precision NOT NULL DEFAULT 0);
    CREATE INDEX transcripts_video ON transcripts(video);
    CREATE TABLE segments (
        id bigserial PRIMARY KEY,
        transcript bigint NOT NULL REFERENCES transcripts(id) ON DELETE CASCADE,
        video bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE, seq integer NOT NULL,
        start double precision NOT NULL, "end" double precision NOT NULL, text text NOT NULL,
        lang text, probability double precision, lang_probability double precision,
        terms text NOT NULL DEFAULT '');
    CREATE INDEX segments_transcript ON segments(transcript, seq);
    CREATE INDEX segments_video ON segments(video, id);
    -- the index: each segment's analysed words as a tsvector with what the search filters on,
    -- in narrow rows of their own (a bridge row is its first segment's), GIN-indexed
    CREATE TABLE segments_tsv (id bigint PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
        video bigint NOT NULL, transcript bigint NOT NULL, lang text, source text NOT NULL,
        tsv tsvector NOT NULL);
    CREATE INDEX segments_tsv_idx ON segments_tsv USING gin (tsv);
    CREATE TABLE bridges (id bigint PRIMARY KEY REFERENCES segments(id) ON DELETE CASCADE,
        terms text NOT NULL, split integer NOT NULL, tsv tsvector NOT NULL,
        video bigint NOT NULL DEFAULT 0, transcript bigint NOT NULL DEFAULT 0, lang text,
        source text NOT NULL DEFAULT '');
    -- what the search filters on, beside each bridge row (its first segment's; a transcript's
    -- source never changes): no join when the index is asked
    CREATE FUNCTION bridges_filters() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN SELECT s.video, s.transcript, s.lang, t.source INTO NEW.video, NEW.transcript, NEW.lang, NEW.source
              FROM segments s JOIN transcripts t ON t.id = s.transcript WHERE s.id = NEW.id; RETURN NEW; END $$;
    CREATE TRIGGER bridges_filters BEFORE INSERT ON bridges FOR EACH ROW EXECUTE FUNCTION bridges_filters();
    CREATE INDEX bridges_tsv_idx ON bridges USING gin (tsv);
    CREATE TABLE words (
        id bigserial PRIMARY KEY, segment bigint NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        position integer NOT NULL, start double precision NOT NULL, "end" double precision NOT NULL,
        word text NOT NULL, probability double precision);
    CREATE INDEX words_segment ON words(segment, position);
    CREATE TABLE vocabulary (word text COLLATE "C" PRIMARY KEY, stem text COLLATE "C" NOT NULL,
        fold text COLLATE "C");
    CREATE INDEX vocabulary_stem ON vocabulary(stem);
    CREATE INDEX vocabulary_fold ON vocabulary(fold);
    -- what the matcher reads as SQLite's FTS5 tables, and what the search asks of the index
    CREATE VIEW segments_fts AS SELECT id AS rowid, terms FROM segments;
    CREATE VIEW bridges_fts AS SELECT id AS rowid, terms, split FROM bridges;
    CREATE VIEW bridges_tsv AS SELECT id, video, transcript, lang, source, tsv FROM bridges;
    CREATE FUNCTION dalel_read_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '% is read-only: write the table it shows', TG_TABLE_NAME; END $$;
    CREATE TRIGGER segments_fts_read_only INSTEAD OF INSERT OR UPDATE OR DELETE ON segments_fts
        FOR EACH ROW EXECUTE FUNCTION dalel_read_only();
    CREATE TRIGGER bridges_fts_read_only INSTEAD OF INSERT OR UPDATE OR DELETE ON bridges_fts
        FOR EACH ROW EXECUTE FUNCTION dalel_read_only();
    CREATE TABLE jobs (
        id bigserial PRIMARY KEY, kind text NOT NULL,
        video bigint NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        state text NOT NULL DEFAULT 'queued', attempts integer NOT NULL DEFAULT 0,
        not_before timestamptz NOT NULL DEFAULT now(), lease_owner text, lease_until timestamptz,
        last_error text, created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX jobs_due ON jobs(state, kind, not_before);
    CREATE UNIQUE INDEX jobs_open ON jobs(kind, video) WHERE state IN ('queued', 'running');
    CREATE TABLE watches (id bigserial PRIMARY KEY, query text NOT NULL UNIQUE, created_at text NOT NULL);
    CREATE TABLE alerts (
        id bigserial PRIMARY KEY, watch bigint NOT NULL REFERENCES watches(id) ON DELETE CASCADE,
        segment bigint NOT NULL REFERENCES segments(id) ON DELETE CASCADE, video_id text NOT NULL,
        start double precision NOT NULL, "end" double precision NOT NULL, text text NOT NULL,
        source text NOT NULL, created_at text NOT NULL, delivered_at text, acknowledged_at text,
        UNIQUE (watch, segment));
    CREATE TABLE users (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE, role text NOT NULL,
        password_hash text NOT NULL, created_at text NOT NULL);
    CREATE TABLE user_tokens (id bigserial PRIMARY KEY,
        "user" bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        token_sha256 text NOT NULL UNIQUE, created_at text NOT NULL);
    CREATE TABLE audit (id bigserial PRIMARY KEY, at text NOT NULL, "user" text NOT NULL,
        action text NOT NULL, target text);
    CREATE TABLE custody (
        id bigserial PRIMARY KEY, video bigint NOT NULL REFERENCES videos(id), seq integer NOT NULL,
        at text NOT NULL, actor text NOT NULL, event text NOT NULL, details text NOT NULL,
        prev_hash text NOT NULL, hash text NOT NULL, UNIQUE (video, seq));
    CREATE FUNCTION custody_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the custody log is append-only'; END $$;
    CREATE TRIGGER custody_no_update BEFORE UPDATE OR DELETE ON custody
        FOR EACH ROW EXECUTE FUNCTION custody_append_only();
    CREATE TRIGGER custody_no_truncate BEFORE TRUNCATE ON custody
        FOR EACH STATEMENT EXECUTE FUNCTION custody_append_only();
    CREATE TABLE processes (owner text PRIMARY KEY, host text NOT NULL, pid integer NOT NULL,
        role text NOT NULL, state text NOT NULL, kinds text NOT NULL, jobs text NOT NULL,
        started_at text NOT NULL, heartbeat_at text NOT NULL);
    CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)
    """,
    # 2: a job is about a video or (a poll) about a source
    """
    ALTER TABLE jobs ALTER COLUMN video DROP NOT NULL;
    ALTER TABLE jobs ADD COLUMN source bigint REFERENCES sources(id) ON DELETE CASCADE;
    ALTER TABLE jobs ADD CONSTRAINT jobs_subject CHECK ((video IS NULL) != (source IS NULL));
    CREATE UNIQUE INDEX jobs_open_source ON jobs(kind, source) WHERE state IN ('queued', 'running')
    """,
    # 3: the language inside the index (btree_gin, a trusted contrib extension): a common word
    # asked in a language it is never spoken in is answered from the index (the posting lists
    # intersect to nothing), not by reading each of its million rows to check their language
    """
    CREATE EXTENSION IF NOT EXISTS btree_gin;
    CREATE INDEX segments_tsv_lang ON segments_tsv USING gin (lang, tsv)
    """,
    # 4: each two neighbouring forms as one lexeme beside the forms ('захват власть':1, as
    # `tsvector_literal` writes them from now on), so that an exact phrase is answered by its
    # pairs: the rows written before are given theirs (quoted as `lexeme` quotes), the indexes
    # built again once, after
    r"""
    CREATE FUNCTION dalel_with_pairs(v tsvector) RETURNS tsvector LANGUAGE sql IMMUTABLE AS $$
        WITH p AS (SELECT lexeme, unnest(positions) AS pos FROM unnest(v))
        SELECT (v::text || coalesce(' ' || string_agg(
                    '''' || replace(replace(a.lexeme || ' ' || b.lexeme, '\', '\\'), '''', '''''')
                    || ''':' || a.pos, ' '), ''))::tsvector
        FROM p a JOIN p b ON b.pos = a.pos + 1 $$;
    DROP INDEX segments_tsv_idx;
    DROP INDEX segments_tsv_lang;
    DROP INDEX bridges_tsv_idx;
    UPDATE segments_tsv SET tsv = dalel_with_pairs(tsv);
    UPDATE bridges SET tsv = dalel_with_pairs(tsv);
    CREATE INDEX segments_tsv_idx ON segments_tsv USING gin (tsv);
    CREATE INDEX segments_tsv_lang ON segments_tsv USING gin (lang, tsv);
    CREATE INDEX bridges_tsv_idx ON bridges USING gin (tsv);
    DROP FUNCTION dalel_with_pairs(tsvector)
    """,
    # 5: the index in partitions of consecutive segment ids (2,000,000 each; the database's
    # setting dalel.index_partition_ids, when set at this step, instead), so that a capped
    # search reads its newest matches a partition at a time, newest first (store/tsquery.py),
    # not all of a common phrase's matches or every row backwards from the newest. Partitions
    # are made as ids grow, by dalel_index_partitions (run as the schema's owner: the
    # application role may not create tables), always a whole one ahead of the highest id.
    """
    CREATE TABLE segments_tsv_parts (lo bigint PRIMARY KEY, hi bigint NOT NULL);
    INSERT INTO meta (key, value) VALUES ('index_partition_ids',
        coalesce(nullif(current_setting('dalel.index_partition_ids', true), ''), '2000000'))
        ON CONFLICT (key) DO NOTHING;
    CREATE FUNCTION dalel_index_partitions(upto bigint) RETURNS void LANGUAGE plpgsql
        SECURITY DEFINER SET search_path = public AS $$
        DECLARE size bigint; top bigint;
        BEGIN
            PERFORM pg_advisory_xact_lock(727275);          -- one maker at a time
            SELECT value::bigint INTO size FROM meta WHERE key = 'index_partition_ids';
            SELECT coalesce(max(hi), 0) INTO top FROM segments_tsv_parts;
            WHILE top <= upto + size LOOP
                EXECUTE format('CREATE TABLE %I PARTITION OF segments_tsv FOR VALUES FROM (%s) TO (%s)',
                               'segments_tsv_' || top, top, top + size);
                INSERT INTO segments_tsv_parts (lo, hi) VALUES (top, top + size);
                top := top + size;
            END LOOP;
        END $$;
    ALTER TABLE segments_tsv RENAME TO segments_tsv_old;
    ALTER TABLE segments_tsv_old RENAME CONSTRAINT segments_tsv_pkey TO segments_tsv_old_pkey;
    DROP INDEX segments_tsv_idx;
    DROP INDEX segments_tsv_lang;
    CREATE TABLE segments_tsv (id bigint NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
        video bigint NOT NULL, transcript bigint NOT NULL, lang text, source text NOT NULL,
        tsv tsvector NOT NULL, PRIMARY KEY (id)) PARTITION BY RANGE (id);
    SELECT dalel_index_partitions((SELECT coalesce(max(id), 0) FROM segments));
    INSERT INTO segments_tsv SELECT id, video, transcript, lang, source, tsv FROM segments_tsv_old;
    DROP TABLE segments_tsv_old;
    CREATE INDEX segments_tsv_idx ON segments_tsv USING gin (tsv);
    CREATE INDEX segments_tsv_lang ON segments_tsv USING gin (lang, tsv);
    ANALYZE segments_tsv
    """,
    # 6: the near keys of the vocabulary's folded forms and stems, as SQLite's migration 19
    """
    CREATE TABLE near_keys (kind text NOT NULL, del text COLLATE "C" NOT NULL, key text COLLATE "C" NOT NULL,
                            PRIMARY KEY (kind, del, key));
    INSERT INTO near_keys (kind, del, key)
        SELECT kind, CASE WHEN i = 0 THEN key ELSE substr(key, 1, i - 1) || substr(key, i + 1) END, key
        FROM (SELECT 'f' AS kind, fold AS key FROM vocabulary WHERE length(fold) >= 4
              UNION SELECT 's', stem FROM vocabulary WHERE length(stem) >= 4) k,
             generate_series(0, length(key)) i
        WHERE i = 0 OR length(key) >= 5
        ON CONFLICT DO NOTHING
    """,
)

# The application role: everything it needs, and on the custody log only INSERT and SELECT.
APP_ROLE_GRANTS = """
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON custody FROM {role}
"""
