"""Name and place lists for the synthetic district (common US names, 3-12 characters)."""

from __future__ import annotations


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


GIVEN_FEMALE: tuple[str, ...] = _words(
    """Olivia Emma Charlotte Amelia Sophia Mia Isabella Ava Evelyn Luna Harper Sofia Camila Eleanor Elizabeth
    Violet Scarlett Emily Hazel Lily Gianna Aurora Penelope Aria Nora Chloe Ellie Mila Avery Layla Abigail Ella
    Isla Eliana Nova Madison Zoe Ivy Grace Lucy Willow Emilia Riley Naomi Victoria Stella Elena Hannah Valentina
    Maya Zoey Delilah Leah Lainey Lillian Paisley Genesis Madelyn Sadie Sophie Leilani Addison Natalie Josephine
    Alice Ruby Claire Kinsley Everly Emery Adeline Kennedy Maeve Audrey Autumn Athena Eden Iris Anna Eloise Jade
    Maria Caroline Brooklyn Quinn Aaliyah Vivian Liliana Gabriella Hailey Sarah Savannah Cora Madeline Natalia
    Ariana Lydia Lyla Clara Allison Aubrey Millie Melody Ayla Serenity Bella Skylar Josie Lucia Daisy Raelynn
    Eva Juniper Samantha Elliana Eliza Rylee Nevaeh Hadley Alaina Parker Piper Kaylee Jasmine Guadalupe Ximena
    Fatima Priya Mei Aisha Yesenia Dayana Keisha Tamika Latoya Ngoc Thuy Anjali Esperanza Rosa Carmen"""
)

GIVEN_MALE: tuple[str, ...] = _words(
    """Liam Noah Oliver James Elijah Mateo Theodore Henry Lucas William Benjamin Levi Sebastian Jack Ezra
    Michael Daniel Leo Owen Samuel Hudson Alexander Asher Luca Ethan John David Jackson Joseph Mason Luke Matthew
    Julian Dylan Elias Jacob Maverick Gabriel Logan Aiden Thomas Isaac Miles Grayson Santiago Anthony Wyatt
    Carter Jayden Ezekiel Caleb Cooper Josiah Charles Christopher Isaiah Nolan Cameron Nathan Joshua Kai Waylon
    Angel Lincoln Andrew Roman Adrian Aaron Wesley Ian Thiago Axel Brooks Bennett Weston Rowan Christian Theo
    Beau Eli Silas Jonathan Ryan Leonardo Walker Jaxon Micah Everett Robert Enzo Parker Jeremiah Jose Colton
    Luka Easton Landon Jordan Amir Gael Austin Adam Jameson August Xavier Myles Dominic Damian Nicholas Jace
    Carson Atlas Adriel Kayden Hunter River Greyson Emmett Harrison Vincent Milo Jasper Giovanni Jonah Zion
    Connor Diego Marcus Tyrone Darnell Jamal Hiroshi Minh Arjun Rohan Wei Javier Carlos Miguel Andres Omar"""
)

FAMILY: tuple[str, ...] = _words(
    """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson
    Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis
    Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera
    Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart
    Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim
    Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo
    Sanders Patel Myers Long Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler
    Henderson Barnes Gonzales Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds
    Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford
    Castro Marshall Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman
    Webb Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon
    Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice
    Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley Spencer
    Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott Cunningham Duncan Armstrong
    Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins Hoffman Johnston Matthews Pena
    Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero George Chapman Rios Estrada Ortega Watkins
    Greene Nunez Wheeler Valdez Harper Burke Larson Santiago Maldonado Morrison Franklin Carlson Austin Dominguez
    Carr Lawson Jacobs O'Brien Lynch Singh Vega Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert
    Dean Sims Espinoza Howell Li Wong Reid Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas
    Marquez Fields Park Yang Little Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia Davidson Acosta
    Brewer May Holland Juarez Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro Figueroa
    Keller Avila Wade Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd
    Craig Ayala Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz
    Norris Jennings Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt DeLeon Barker
    Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera McKinney
    Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis Erickson Reeves Chang Klein
    Salinas Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre Lin Cummings Chandler Sharp Barber
    Bowen Ochoa Dennis Robbins Liu Ramsey Francis Griffith Paul Blair O'Connor Cardenas Pacheco Cross Calderon
    Quinn Moss Swanson Chan Rivas Khan Rodgers Serrano FitzGerald Rosales Stevenson Christensen Manning Gill
    Curry McLaughlin Harmon McGee Gross Doyle Garner Newton Burgess Reese Walton Blake Trujillo Adkins Brady
    Goodman Roman Webster Goodwin Fischer Huang Potter Delacruz Montoya Todd Wu Hines Mullins Castaneda Malone
    Cannon Tate Mack Sherman Hubbard Hodges Zhang Guerra Wolf Valencia Saunders Franco Rowe Gallagher Farmer
    Hammond Hampton Townsend Ingram Wise Gallegos Clarke Barton Schroeder Maxwell Waters Logan Camacho Strickland
    Norman Person Colon Parsons Frank Harrington Glover Osborne Buchanan Casey Floyd Patton Ibarra Ball Tyler
    Suarez Bowers Orozco Salas Cobb Gibbs Andrade Bauer Conner Moody Escobar McGuire Lloyd Mueller Hartman
    French Kramer McBride Pope Lindsey Velazquez Norton McCormick Sparks Flynn Yates Hogan Marsh Macias Villanueva
    Zamora Pratt Stokes Owen Ballard Lang Brock Villarreal Charles Drake Barrera Cain Patrick Pineda Burnett
    Mercado Santana Shepherd Bautista Ali Shaffer Lamb Trevino McKenzie Hess Beil Olsen Cochran Morton Nash
    Wilkins Petersen Briggs Shah Roth Nicholson Holloway Lozano Rangel Flowers Hoover Short Arias Mora Valenzuela
    Bryan Meyers Weiss Underwood Bass Greer Summers Houston Carson Morrow Clayton Whitaker Decker Yoder Collier
    Zuniga Carey Wilcox Melendez Poole Roberson Larsen Conley Davenport Copeland Massey Lam Huff Rocha Cameron
    Jefferson Hood Monroe Anthony Pittman Huynh Randall Singleton Kirk Combs Mathis Christian Skinner Bradford
    Richard Galvan Wall Boone Kirby Wilkinson Bridges Bruce Atkinson Velez Meza Roy Vincent York Hodge Villa
    Abbott Allison Tapia Gates Chase Sosa Sweeney Farrell Wyatt Dalton Horn Barron Phelps Yu Dickerson Heath
    Foley Atkins Mathews Bonilla Acevedo Benitez Zavala Hensley Glenn Cisneros Harrell Shields Rubio Huffman
    Choi Boyer Garrison Arroyo Bond Kane Hancock Callahan Dillon Cline Wiggins Grimes Arellano Melton O'Neill
    Savage Ho Beltran Pitts Parrish Ponce Rich Booth Koch Golden Ware Brennan McDowell Marks Cantu Humphrey
    Baxter Sawyer Clay Tanner Hutchinson Kaur Berg Wiley Gilmore Russo Villegas Hobbs Keith Wilkerson Ahmed"""
)

SCHOOL_STEMS: tuple[str, ...] = tuple(
    """Lincoln|Washington|Jefferson|Roosevelt|Franklin|Madison|Kennedy|Oak Ridge|Cedar Hills|Maple Grove|Pine Crest
    |Riverside|Lakeview|Hillcrest|Sunset|Meadowbrook|Willow Creek|Forest Park|Eastside|Westview|Northgate|Southridge
    |Valley View|Mountain View|Fairview|Highland|Parkside|Brookside|Greenfield|Harbor|Prairie Wind|Stone Bridge
    |Sequoia|Aspen|Evergreen|Sierra|Mesa Verde|Canyon|Bayside|Summit|Clearwater|Golden Gate|Heritage|Liberty
    |Discovery|Pioneer|Frontier|Horizon|Cesar Chavez|Sally Ride|Ruby Bridges|Rosa Parks|Thurgood Marshall
    |Amelia Earhart|Mae Jemison|Sojourner Truth|Harriet Tubman|Frederick Douglass|Ellen Ochoa|Grace Hopper""".replace(
        "\n", ""
    ).split("|")
)
SCHOOL_STEMS = tuple(s.strip() for s in SCHOOL_STEMS)

CITIES: tuple[str, ...] = (
    "Portland",
    "Salem",
    "Eugene",
    "Gresham",
    "Hillsboro",
    "Beaverton",
    "Bend",
    "Medford",
    "Springfield",
    "Corvallis",
    "Albany",
    "Tigard",
    "Lake Oswego",
    "Keizer",
    "Grants Pass",
    "Oregon City",
    "McMinnville",
    "Redmond",
    "Tualatin",
    "West Linn",
    "Woodburn",
    "Forest Grove",
    "Newberg",
    "Wilsonville",
    "Roseburg",
    "Klamath Falls",
    "Ashland",
    "Milwaukie",
    "Sherwood",
    "Happy Valley",
    "Central Point",
    "Canby",
    "Hermiston",
    "Pendleton",
    "Troutdale",
)

OTHER_STATES: tuple[str, ...] = ("WA", "CA", "ID", "NV", "TX", "AZ", "NY", "FL", "IL", "CO", "UT", "MN")
FOREIGN_COUNTRIES: tuple[str, ...] = ("MX", "GT", "SV", "IN", "CN", "PH", "VN", "KR", "UA", "RU", "SO", "ET", "CA")
ROOM_KINDS: tuple[str, ...] = ("Room", "Room", "Room", "Room", "Lab", "Portable", "Annex")
SPECIAL_ROOMS: tuple[str, ...] = ("Gym", "Library", "Music Room", "Art Room", "Band Room", "Cafeteria", "Auditorium")
