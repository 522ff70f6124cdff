-- 003: reference data. Countries with ISO 4217 currencies and IANA time zones, and the cities the
-- marketplace serves, with real city-centre coordinates (WGS84). Same rows as generator/geo/gazetteer.ts;
-- ids are fixed so every database gets the same ones (country blocks: BR 1xxx, MX 2xxx, CO 3xxx,
-- PE 4xxx, CL 5xxx, AR 6xxx).

INSERT INTO countries (code, name, currency, timezone) VALUES
  ('BR', 'Brasil', 'BRL', 'America/Sao_Paulo'),
  ('MX', 'México', 'MXN', 'America/Mexico_City'),
  ('CO', 'Colombia', 'COP', 'America/Bogota'),
  ('PE', 'Perú', 'PEN', 'America/Lima'),
  ('CL', 'Chile', 'CLP', 'America/Santiago'),
  ('AR', 'Argentina', 'ARS', 'America/Argentina/Buenos_Aires');

INSERT INTO cities (id, country_code, name, latitude, longitude, timezone) VALUES
  (1001, 'BR', 'São Paulo', -23.550520, -46.633308, 'America/Sao_Paulo'),
  (1002, 'BR', 'Rio de Janeiro', -22.906847, -43.172897, 'America/Sao_Paulo'),
  (1003, 'BR', 'Belo Horizonte', -19.916681, -43.934493, 'America/Sao_Paulo'),
  (1004, 'BR', 'Brasília', -15.793889, -47.882778, 'America/Sao_Paulo'),
  (1005, 'BR', 'Curitiba', -25.428954, -49.267137, 'America/Sao_Paulo'),
  (1006, 'BR', 'Porto Alegre', -30.034647, -51.217658, 'America/Sao_Paulo'),
  (1007, 'BR', 'Salvador', -12.977749, -38.501630, 'America/Bahia'),
  (1008, 'BR', 'Recife', -8.047562, -34.877003, 'America/Recife'),
  (1009, 'BR', 'Fortaleza', -3.731862, -38.526669, 'America/Fortaleza'),
  (1010, 'BR', 'Manaus', -3.119028, -60.021731, 'America/Manaus'),
  (2001, 'MX', 'Ciudad de México', 19.432608, -99.133209, 'America/Mexico_City'),
  (2002, 'MX', 'Guadalajara', 20.659699, -103.349609, 'America/Mexico_City'),
  (2003, 'MX', 'Monterrey', 25.686614, -100.316113, 'America/Monterrey'),
  (2004, 'MX', 'Puebla', 19.041440, -98.206273, 'America/Mexico_City'),
  (2005, 'MX', 'Tijuana', 32.514947, -117.038247, 'America/Tijuana'),
  (2006, 'MX', 'Mérida', 20.967370, -89.592586, 'America/Merida'),
  (2007, 'MX', 'Cancún', 21.161908, -86.851528, 'America/Cancun'),
  (3001, 'CO', 'Bogotá', 4.710989, -74.072092, 'America/Bogota'),
  (3002, 'CO', 'Medellín', 6.244203, -75.581212, 'America/Bogota'),
  (3003, 'CO', 'Cali', 3.451647, -76.532097, 'America/Bogota'),
  (3004, 'CO', 'Barranquilla', 10.968540, -74.781320, 'America/Bogota'),
  (3005, 'CO', 'Cartagena', 10.391049, -75.479426, 'America/Bogota'),
  (3006, 'CO', 'Bucaramanga', 7.119349, -73.122742, 'America/Bogota'),
  (4001, 'PE', 'Lima', -12.046374, -77.042793, 'America/Lima'),
  (4002, 'PE', 'Arequipa', -16.409047, -71.537451, 'America/Lima'),
  (4003, 'PE', 'Trujillo', -8.111763, -79.028687, 'America/Lima'),
  (4004, 'PE', 'Cusco', -13.531950, -71.967463, 'America/Lima'),
  (4005, 'PE', 'Piura', -5.194490, -80.632820, 'America/Lima'),
  (5001, 'CL', 'Santiago', -33.448890, -70.669265, 'America/Santiago'),
  (5002, 'CL', 'Valparaíso', -33.047238, -71.612688, 'America/Santiago'),
  (5003, 'CL', 'Viña del Mar', -33.024527, -71.552369, 'America/Santiago'),
  (5004, 'CL', 'Concepción', -36.827015, -73.050316, 'America/Santiago'),
  (5005, 'CL', 'Antofagasta', -23.652360, -70.395400, 'America/Santiago'),
  (6001, 'AR', 'Buenos Aires', -34.603684, -58.381559, 'America/Argentina/Buenos_Aires'),
  (6002, 'AR', 'Córdoba', -31.420083, -64.188776, 'America/Argentina/Cordoba'),
  (6003, 'AR', 'Rosario', -32.944243, -60.650539, 'America/Argentina/Cordoba'),
  (6004, 'AR', 'Mendoza', -32.889459, -68.845839, 'America/Argentina/Mendoza'),
  (6005, 'AR', 'La Plata', -34.921450, -57.954530, 'America/Argentina/Buenos_Aires');

-- Later cities get generated ids above the seeded blocks.
SELECT setval(pg_get_serial_sequence('cities', 'id'), 100000, false);
