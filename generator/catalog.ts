// What the marketplace sells: store categories with their share of stores, basket shapes and price
// levels, and per-country market data (currency price level, delivery fee, tax, rounding).
// Prices are set in US cents and converted with a rough 2024–25 exchange rate, then rounded the way
// each market prices things (29,90 in Brazil; whole pesos in Chile, Colombia and Argentina).
import type { CountryCode } from './geo/gazetteer.ts';
import { clamp, type Rng } from './random.ts';
import { mulDivRound, roundToStep, type Cents } from './money.ts';

export type StoreCategory = 'restaurant' | 'market' | 'pharmacy' | 'liquor' | 'convenience' | 'pet' | 'electronics';
export const STORE_CATEGORIES: readonly StoreCategory[] = [
  'restaurant',
  'market',
  'pharmacy',
  'liquor',
  'convenience',
  'pet',
  'electronics',
];

export interface CategoryProfile {
  /** Share of stores (percent). */
  readonly storeShare: number;
  /** Products per store: [min, max]. */
  readonly catalogSize: readonly [number, number];
  /** Distinct lines per basket: log-normal median and cap. */
  readonly linesMedian: number;
  readonly linesMax: number;
  /** Chance a line has more than one unit, and the most units of one product. */
  readonly multiUnitChance: number;
  readonly maxQuantity: number;
  /** Product price in US cents: log-normal median and sigma. */
  readonly priceMedianUsdCents: number;
  readonly priceSigma: number;
}

export const CATEGORY_PROFILES: Record<StoreCategory, CategoryProfile> = {
  restaurant: {
    storeShare: 55,
    catalogSize: [12, 40],
    linesMedian: 2,
    linesMax: 7,
    multiUnitChance: 0.2,
    maxQuantity: 4,
    priceMedianUsdCents: 700,
    priceSigma: 0.45,
  },
  market: {
    storeShare: 12,
    catalogSize: [40, 90],
    linesMedian: 9,
    linesMax: 35,
    multiUnitChance: 0.35,
    maxQuantity: 6,
    priceMedianUsdCents: 250,
    priceSigma: 0.7,
  },
  pharmacy: {
    storeShare: 10,
    catalogSize: [20, 50],
    linesMedian: 2,
    linesMax: 6,
    multiUnitChance: 0.15,
    maxQuantity: 3,
    priceMedianUsdCents: 650,
    priceSigma: 0.6,
  },
  liquor: {
    storeShare: 6,
    catalogSize: [15, 40],
    linesMedian: 2,
    linesMax: 6,
    multiUnitChance: 0.5,
    maxQuantity: 12,
    priceMedianUsdCents: 450,
    priceSigma: 0.7,
  },
  convenience: {
    storeShare: 10,
    catalogSize: [20, 50],
    linesMedian: 3,
    linesMax: 9,
    multiUnitChance: 0.3,
    maxQuantity: 4,
    priceMedianUsdCents: 200,
    priceSigma: 0.55,
  },
  pet: {
    storeShare: 4,
    catalogSize: [15, 40],
    linesMedian: 2,
    linesMax: 5,
    multiUnitChance: 0.2,
    maxQuantity: 3,
    priceMedianUsdCents: 1300,
    priceSigma: 0.7,
  },
  electronics: {
    storeShare: 3,
    catalogSize: [15, 40],
    linesMedian: 1,
    linesMax: 3,
    multiUnitChance: 0.05,
    maxQuantity: 2,
    priceMedianUsdCents: 4500,
    priceSigma: 0.9,
  },
};

export interface MarketProfile {
  readonly currency: string;
  /** Local currency units per US dollar (rough). */
  readonly perUsd: number;
  /** Cents step every local price is a multiple of (100 = whole units). */
  readonly roundingStepCents: number;
  /** Price ending in cents, e.g. 90 → 29,90 (0 = none). Applied after rounding to `priceStepCents`. */
  readonly priceStepCents: number;
  readonly priceEndingCents: number;
  readonly deliveryFeeUsdCents: number;
  /** Tax added at checkout (basis points of subtotal − discount). Simplification: menu prices are
   * shown before tax and the country's VAT / consumption tax is added, so the tax column carries it. */
  readonly taxBp: number;
  /** A "free delivery over" threshold in US cents. */
  readonly freeDeliveryOverUsdCents: number;
}

export const MARKETS: Record<CountryCode, MarketProfile> = {
  BR: {
    currency: 'BRL',
    perUsd: 5.2,
    roundingStepCents: 1,
    priceStepCents: 100,
    priceEndingCents: 90,
    deliveryFeeUsdCents: 140,
    taxBp: 0,
    freeDeliveryOverUsdCents: 1800,
  },
  MX: {
    currency: 'MXN',
    perUsd: 17.5,
    roundingStepCents: 1,
    priceStepCents: 100,
    priceEndingCents: 0,
    deliveryFeeUsdCents: 170,
    taxBp: 1600,
    freeDeliveryOverUsdCents: 2000,
  },
  CO: {
    currency: 'COP',
    perUsd: 4000,
    roundingStepCents: 100,
    priceStepCents: 10_000,
    priceEndingCents: 0,
    deliveryFeeUsdCents: 130,
    taxBp: 800,
    freeDeliveryOverUsdCents: 1800,
  },
  PE: {
    currency: 'PEN',
    perUsd: 3.75,
    roundingStepCents: 1,
    priceStepCents: 10,
    priceEndingCents: 0,
    deliveryFeeUsdCents: 150,
    taxBp: 1800,
    freeDeliveryOverUsdCents: 2000,
  },
  CL: {
    currency: 'CLP',
    perUsd: 930,
    roundingStepCents: 100,
    priceStepCents: 1000,
    priceEndingCents: 0,
    deliveryFeeUsdCents: 190,
    taxBp: 1900,
    freeDeliveryOverUsdCents: 2500,
  },
  AR: {
    currency: 'ARS',
    perUsd: 1000,
    roundingStepCents: 100,
    priceStepCents: 1000,
    priceEndingCents: 0,
    deliveryFeeUsdCents: 120,
    taxBp: 2100,
    freeDeliveryOverUsdCents: 2000,
  },
};

/** US cents → local cents, in integer arithmetic (perUsd is given with ≤ 2 decimals). */
export function usdToLocalCents(usdCents: Cents, market: MarketProfile): Cents {
  return mulDivRound(usdCents, Math.round(market.perUsd * 100), 100);
}

/** A shelf price: converted, rounded to the market's price step, with its customary ending (e.g. ,90). */
export function localShelfPrice(usdCents: Cents, market: MarketProfile): Cents {
  const raw = usdToLocalCents(usdCents, market);
  const stepped = Math.max(market.priceStepCents, roundToStep(raw, market.priceStepCents));
  return market.priceEndingCents ? stepped - market.priceStepCents + market.priceEndingCents : stepped;
}

export function drawProductPriceUsdCents(rng: Rng, category: StoreCategory): Cents {
  const p = CATEGORY_PROFILES[category];
  return Math.round(
    clamp(rng.lognormal(p.priceMedianUsdCents, p.priceSigma), p.priceMedianUsdCents / 8, p.priceMedianUsdCents * 12),
  );
}

export function drawBasketLines(rng: Rng, category: StoreCategory): number {
  const p = CATEGORY_PROFILES[category];
  return Math.round(clamp(rng.lognormal(p.linesMedian, 0.5), 1, p.linesMax));
}

export function drawQuantity(rng: Rng, category: StoreCategory): number {
  const p = CATEGORY_PROFILES[category];
  return rng.chance(p.multiUnitChance) ? rng.int(2, p.maxQuantity) : 1;
}

// --- names -------------------------------------------------------------------------------------------

type Lang = 'es' | 'pt';
export const langOf = (country: CountryCode): Lang => (country === 'BR' ? 'pt' : 'es');

const PRODUCTS: Record<StoreCategory, Record<Lang, readonly string[]>> = {
  restaurant: {
    es: [
      'Hamburguesa clásica',
      'Pizza margarita',
      'Tacos al pastor',
      'Burrito de pollo',
      'Ceviche mixto',
      'Lomo saltado',
      'Arepa reina pepiada',
      'Empanadas de carne',
      'Bandeja paisa',
      'Sushi roll acevichado',
      'Pollo a la brasa',
      'Ensalada César',
      'Quesadilla',
      'Chilaquiles verdes',
      'Milanesa napolitana',
      'Completo italiano',
      'Ají de gallina',
      'Pad thai',
      'Poke de salmón',
      'Limonada de coco',
      'Flan casero',
      'Papas fritas',
      'Choripán',
      'Enchiladas suizas',
    ],
    pt: [
      'Hambúrguer artesanal',
      'Pizza calabresa',
      'Açaí 500 ml',
      'Coxinha',
      'Feijoada completa',
      'Prato feito',
      'Pastel de queijo',
      'Marmita fitness',
      'Yakisoba',
      'Temaki de salmão',
      'Pão de queijo',
      'Esfiha de carne',
      'Parmegiana de frango',
      'Picanha na chapa',
      'Guaraná lata',
      'Brigadeiro',
      'Batata frita',
      'Moqueca',
      'Tapioca de frango',
      'Suco de laranja',
    ],
  },
  market: {
    es: [
      'Leche entera 1 L',
      'Pan de molde',
      'Huevos x12',
      'Arroz 1 kg',
      'Aceite de girasol',
      'Plátanos',
      'Tomates',
      'Café molido',
      'Yogur natural',
      'Queso fresco',
      'Pechuga de pollo',
      'Detergente',
      'Papel higiénico x4',
      'Agua mineral 1,5 L',
      'Frijoles negros',
      'Azúcar 1 kg',
      'Manzanas',
      'Pasta spaghetti',
      'Atún en lata',
      'Avena',
    ],
    pt: [
      'Leite integral 1 L',
      'Pão francês',
      'Ovos x12',
      'Arroz 5 kg',
      'Feijão carioca',
      'Óleo de soja',
      'Banana prata',
      'Tomate',
      'Café 500 g',
      'Iogurte natural',
      'Queijo minas',
      'Peito de frango',
      'Detergente',
      'Papel higiênico x4',
      'Água mineral 1,5 L',
      'Açúcar 1 kg',
      'Maçã',
      'Macarrão',
      'Farinha de mandioca',
      'Manteiga',
    ],
  },
  pharmacy: {
    es: [
      'Paracetamol 500 mg',
      'Ibuprofeno 400 mg',
      'Protector solar FPS 50',
      'Vitamina C',
      'Alcohol en gel',
      'Pañales talla M',
      'Shampoo',
      'Pasta dental',
      'Suero oral',
      'Curitas',
      'Antigripal',
      'Crema hidratante',
    ],
    pt: [
      'Dipirona 500 mg',
      'Paracetamol 750 mg',
      'Protetor solar FPS 50',
      'Vitamina C',
      'Álcool em gel',
      'Fraldas tamanho M',
      'Xampu',
      'Creme dental',
      'Soro fisiológico',
      'Curativos',
      'Antigripal',
      'Hidratante',
    ],
  },
  liquor: {
    es: [
      'Cerveza lata 355 ml',
      'Six-pack cerveza',
      'Vino tinto Malbec',
      'Pisco',
      'Tequila reposado',
      'Aguardiente',
      'Ron añejo',
      'Hielo 2 kg',
      'Fernet',
      'Vino blanco Sauvignon',
      'Mezcal',
      'Agua tónica',
    ],
    pt: [
      'Cerveja lata 350 ml',
      'Fardo de cerveja',
      'Vinho tinto',
      'Cachaça',
      'Vodka',
      'Gin',
      'Gelo 2 kg',
      'Energético',
      'Espumante',
      'Whisky 8 anos',
      'Água tônica',
      'Caipirinha pronta',
    ],
  },
  convenience: {
    es: [
      'Papas chips',
      'Chocolate',
      'Gaseosa 600 ml',
      'Galletas',
      'Chicles',
      'Agua 600 ml',
      'Helado',
      'Pan dulce',
      'Cigarrillos',
      'Maní salado',
      'Bebida energética',
      'Sándwich',
    ],
    pt: [
      'Batata chips',
      'Chocolate',
      'Refrigerante 600 ml',
      'Biscoito recheado',
      'Chiclete',
      'Água 500 ml',
      'Sorvete',
      'Salgadinho',
      'Amendoim',
      'Energético',
      'Sanduíche natural',
      'Bala de goma',
    ],
  },
  pet: {
    es: [
      'Alimento perro adulto 3 kg',
      'Alimento gato 1,5 kg',
      'Arena para gato',
      'Snacks dentales',
      'Juguete mordedor',
      'Collar antipulgas',
      'Shampoo para mascotas',
      'Comedero',
    ],
    pt: [
      'Ração cães adultos 3 kg',
      'Ração gatos 1,5 kg',
      'Areia para gatos',
      'Petisco dental',
      'Brinquedo mordedor',
      'Coleira antipulgas',
      'Xampu pet',
      'Comedouro',
    ],
  },
  electronics: {
    es: [
      'Audífonos bluetooth',
      'Cargador USB-C',
      'Cable HDMI',
      'Mouse inalámbrico',
      'Parlante portátil',
      'Power bank 10000 mAh',
      'Teclado',
      'Smartwatch',
      'Memoria USB 64 GB',
      'Router wifi',
    ],
    pt: [
      'Fone bluetooth',
      'Carregador USB-C',
      'Cabo HDMI',
      'Mouse sem fio',
      'Caixa de som portátil',
      'Power bank 10000 mAh',
      'Teclado',
      'Smartwatch',
      'Pen drive 64 GB',
      'Roteador wi-fi',
    ],
  },
};

const VARIANTS: Record<Lang, readonly string[]> = {
  es: ['', '', '', ' grande', ' mediano', ' familiar', ' especial', ' light', ' doble', ' de la casa'],
  pt: ['', '', '', ' grande', ' médio', ' família', ' especial', ' light', ' duplo', ' da casa'],
};

export function productName(rng: Rng, category: StoreCategory, country: CountryCode): string {
  const lang = langOf(country);
  return rng.pick(PRODUCTS[category][lang]) + rng.pick(VARIANTS[lang]);
}

const STORE_PREFIX: Record<StoreCategory, Record<Lang, readonly string[]>> = {
  restaurant: {
    es: ['Restaurante', 'Taquería', 'Cevichería', 'Pizzería', 'Parrilla', 'Sanguchería', 'Cocina de', 'Sabores de'],
    pt: ['Restaurante', 'Pizzaria', 'Lanchonete', 'Churrascaria', 'Cantina', 'Boteco', 'Cozinha da', 'Sabores de'],
  },
  market: {
    es: ['Supermercado', 'Minimarket', 'Mercado', 'Abarrotes'],
    pt: ['Supermercado', 'Mercadinho', 'Mercado', 'Empório'],
  },
  pharmacy: { es: ['Farmacia', 'Droguería', 'Botica'], pt: ['Farmácia', 'Drogaria'] },
  liquor: { es: ['Licorería', 'Botillería', 'Depósito'], pt: ['Adega', 'Depósito de Bebidas'] },
  convenience: { es: ['Tienda', 'Kiosco', 'Express'], pt: ['Conveniência', 'Loja', 'Express'] },
  pet: { es: ['Pet Shop', 'Veterinaria', 'Mundo Mascota'], pt: ['Pet Shop', 'Casa de Ração', 'Mundo Pet'] },
  electronics: { es: ['Electro', 'TecnoStore', 'Digital'], pt: ['Eletro', 'TecnoStore', 'Digital'] },
};

export function storeName(rng: Rng, category: StoreCategory, country: CountryCode, surname: string): string {
  return `${rng.pick(STORE_PREFIX[category][langOf(country)])} ${surname}`;
}

const NOTES: Record<Lang, readonly string[]> = {
  es: [
    'Sin cebolla, por favor',
    'Tocar el timbre',
    'Dejar en portería',
    'Sin cubiertos',
    'Salsa aparte',
    'Llamar al llegar',
    'Extra picante',
  ],
  pt: [
    'Sem cebola, por favor',
    'Tocar a campainha',
    'Deixar na portaria',
    'Sem talheres',
    'Molho à parte',
    'Ligar ao chegar',
    'Bem passado',
  ],
};

export function orderNote(rng: Rng, country: CountryCode): string | null {
  return rng.chance(0.12) ? rng.pick(NOTES[langOf(country)]) : null;
}
