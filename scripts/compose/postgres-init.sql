-- docker-compose.yaml: the request store's own database beside Airflow's (run once by the postgres image).
CREATE DATABASE reporting OWNER airflow;
