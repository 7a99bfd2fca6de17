-- The benchmark's table: :rows synthetic sale lines, made by the server itself.
CREATE TABLE bench_sales AS
SELECT
    g AS sale_id,
    DATE '2026-01-01' + (g % 365) AS sale_date,
    (ARRAY['EMEA', 'AMER', 'APAC'])[1 + g % 3] AS region,
    'Country ' || (g % 40) AS country,
    'Product ' || lpad((g % 500)::text, 3, '0') AS product,
    1 + g % 17 AS units,
    round((5 + (g % 1000) / 10.0)::numeric, 2) AS unit_price,
    round(((1 + g % 17) * (5 + (g % 1000) / 10.0))::numeric, 2) AS revenue
FROM generate_series(1, :rows) AS g
