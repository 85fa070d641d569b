-- Every shard file of every shard set: rows, tokens, the mixture it was sampled from, and its lineage.
-- param: mixture_id = ''   (a gold.mixtures mixture_id; empty: every shard set)
with shards as (
    select shard_set_id, file, out_dir, mixture_id, n_rows, n_tokens, super_cluster_tokens, run_id, inputs
    from gold.shards
    where :mixture_id = '' or mixture_id = :mixture_id
),

final as (
    select
        shard_set_id,
        mixture_id,
        file,
        n_rows,
        n_tokens,
        round(n_tokens / sum(n_tokens) over (partition by shard_set_id), 4) as token_fraction_of_set,
        to_json(super_cluster_tokens) as super_cluster_tokens,
        out_dir,
        run_id,
        to_json(inputs) as inputs
    from shards
)

select * from final order by shard_set_id, file
