// Minimal types for node-geocoder 4 (the package ships none): only what Pulso uses.
declare module 'node-geocoder' {
  namespace NodeGeocoder {
    interface Entry {
      latitude?: number;
      longitude?: number;
      formattedAddress?: string;
      country?: string;
      countryCode?: string;
      city?: string;
      neighbourhood?: string;
      [key: string]: unknown;
    }
    type Callback = (err: Error | null | false, results?: Entry[] & { raw?: unknown }) => void;
    /** A custom provider: node-geocoder calls these with (value, callback). */
    interface Provider {
      geocode(value: string | Record<string, unknown>, callback: Callback): void;
      reverse(query: { lat: number; lon: number }, callback: Callback): void;
    }
    interface Options {
      provider: string | Provider;
      osmServer?: string;
      language?: string;
      email?: string;
      headers?: Record<string, string>;
      fetch?: unknown;
      [key: string]: unknown;
    }
    interface Geocoder {
      geocode(query: string | Record<string, unknown>): Promise<Entry[] & { raw?: unknown }>;
      reverse(query: { lat: number; lon: number }): Promise<Entry[] & { raw?: unknown }>;
    }
  }
  function NodeGeocoder(options: NodeGeocoder.Options): NodeGeocoder.Geocoder;
  export = NodeGeocoder;
}
